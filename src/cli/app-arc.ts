// ./app.arc as Architect itself reads it (@architect/parser): the CLI takes the @app name and @tanuki-sts target-roles
// from it. What each pragma means is its reader's (target.ts, target-roles.ts).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CliError } from '../broker/errors'

/** A pragma's rows as the parser gives them: a word, a row of words (numbers and booleans converted), or a named block. */
export type ArcRow = string | number | boolean | ArcRow[] | { [name: string]: unknown }

/** The parsed manifest: each pragma, by name, to its rows. */
export type Arc = Readonly<Record<string, readonly ArcRow[] | undefined>>

/** ./app.arc parsed; undefined when there is none. A file Architect could not parse either is an error, never "no settings". */
export function readArc (cwd = process.cwd()): Arc | undefined {
  const file = join(cwd, 'app.arc')
  let text: string
  try { text = readFileSync(file, 'utf8') }
  catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CliError(`Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  // Loaded here, by the commands that read app.arc (it ships no types: this is the call used).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const parse = require('@architect/parser') as (arc: string) => Arc
  try { return parse(text) }
  catch (e) { throw new CliError(`Cannot read ${file}: ${(e as Error).message}. Fix it (Architect could not deploy it either).`) }
}
