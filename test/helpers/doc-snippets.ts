// The code blocks the docs mark as tested (`<!-- e2e: NAME -->` on the line before a fenced block), so a test runs
// exactly what a page shows. Which page and block a test runs is the test's business.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../../src/local/stack'

/** A block of README.md (or of another page of the repo: `file`, relative to its root), marked `<!-- e2e: NAME -->`. */
export function docSnippet (name: string, file = 'README.md'): string {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const m = new RegExp(`<!-- e2e: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(text)
  if (!m) throw new Error(`${file} has no block marked "e2e: ${name}"`)
  return m[1]
}
