// What the CLI reads of ./app.arc itself (the @app name, @tanuki-sts target-roles): one pragma's rows, as written.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The non-empty rows under `@<pragma>` in ./app.arc, comments removed; undefined without the file or the pragma. */
export function arcSection (pragma: string, cwd = process.cwd()): string[] | undefined {
  let text: string
  try { text = readFileSync(join(cwd, 'app.arc'), 'utf8') }
  catch { return undefined }
  const lines = text.split('\n').map(l => l.replace(/#.*/, '').trim())
  const at = lines.indexOf(`@${pragma}`)
  if (at === -1) return undefined
  const rest = lines.slice(at + 1)
  const end = rest.findIndex(l => l.startsWith('@'))
  return (end === -1 ? rest : rest.slice(0, end)).filter(l => l !== '')
}
