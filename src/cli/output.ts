// What the CLI writes: results on stdout (tables, or JSON with --json and nothing else), messages and progress on stderr.
// Colour only on a TTY and never with NO_COLOR (no-color.org); what to print is each command's.
import { createInterface } from 'node:readline/promises'

/** Exit statuses: 1 for anything to fix first; CONFLICT when another writer got there first (re-running may succeed). */
export const EXIT_CONFLICT = 3
/** `apply --dry-run --detailed-exitcode` with changes to make (terraform plan's convention: 0 none, 1 error, 2 changes). */
export const EXIT_CHANGES = 2

export interface Paint {
  bold (s: string): string
  dim (s: string): string
  red (s: string): string
  green (s: string): string
  yellow (s: string): string
  cyan (s: string): string
}

const SGR = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const

export function useColour (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  // no-color.org: NO_COLOR present and not empty disables colour, whatever else is set.
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb'
}

export function paint (enabled: boolean): Paint {
  const wrap = ([on, off]: readonly [number, number]) => (s: string) => enabled ? `\x1b[${on}m${s}\x1b[${off}m` : s
  return { bold: wrap(SGR.bold), dim: wrap(SGR.dim), red: wrap(SGR.red), green: wrap(SGR.green), yellow: wrap(SGR.yellow), cyan: wrap(SGR.cyan) }
}

/** Colours for stdout and stderr, each decided by its own stream. */
export const out = paint(useColour(process.stdout))
export const err = paint(useColour(process.stderr))

// The colour codes paint() writes, and every other control character (C0 but tab and line feed, DEL, C1).
// eslint-disable-next-line no-control-regex
const OUR_SGR_OR_CONTROL = new RegExp(`(\x1b\\[(?:${Object.values(SGR).flat().join('|')})m)|[\x00-\x08\x0b-\x1f\x7f-\x9f]`, 'g')

/** A character as JSON writes an escaped one: `\u009b`. */
const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * Text for a terminal: what a token's claims, an audit record or a table item carry (a ref may hold U+009B, a C1 CSI)
 * could otherwise move the cursor, retitle the window or hide a line. Each control character is shown as its \u escape;
 * only paint()'s own colour codes pass.
 */
export function printable (text: string): string {
  return text.replace(OUR_SGR_OR_CONTROL, (match, ours: string | undefined) => ours ?? unicodeEscape(match))
}

export function print (line = ''): void {
  process.stdout.write(printable(line) + '\n')
}

/** Messages for the human (status, warnings, what a command did): stderr, so stdout stays the result. */
export function say (line = ''): void {
  process.stderr.write(printable(line) + '\n')
}

/** JSON.stringify leaves DEL and C1 raw; they are escaped too, so `--json` at a terminal is as safe (and still JSON). */
export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2).replace(/[\x7f-\x9f]/g, unicodeEscape) + '\n')
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
const width = (s: string) => [...s.replace(ANSI, '')].length

/** An ISO instant as tables show it, in UTC: `2026-11-26 18:52:05Z`, or `2026-11-26 18:52Z` to the minute. */
export function readableTime (iso: string, to: 'second' | 'minute' = 'second'): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})(\.\d+)?Z$/.exec(iso)
  if (!match) return iso
  return `${match[1]} ${match[2]}${to === 'second' ? match[3] : ''}Z`
}

/** A plain text table: a header row, then one row per entry; cells may hold colour codes and line breaks. */
export function renderTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>, paintHeader: (s: string) => string = s => s): string {
  // Made printable first, so a control character's \u escape is measured at the width it is shown.
  const split = rows.map(r => r.map(cell => printable(cell).split('\n')))
  const widths = header.map((h, i) => Math.max(width(h), ...split.map(r => Math.max(...(r[i] ?? ['']).map(width)))))
  const line = (cells: readonly string[], last: boolean) => cells
    .map((c, i) => i === cells.length - 1 && last ? c : c + ' '.repeat(widths[i] - width(c)))
    .join('  ').trimEnd()
  const lines = [paintHeader(line(header, true))]
  for (const row of split) {
    const height = Math.max(...row.map(c => c.length))
    for (let k = 0; k < height; k++) lines.push(line(row.map(c => c[k] ?? ''), true))
  }
  return lines.join('\n')
}

/** A one-line progress note for long reads, on stderr and only on a TTY; `done()` clears it. */
export function progress (): { update (text: string): void; done (): void } {
  const on = Boolean(process.stderr.isTTY)
  let shown = false
  return {
    update (text) {
      if (!on) return
      process.stderr.write(`\r\x1b[2K${printable(text)}`)
      shown = true
    },
    done () {
      if (on && shown) process.stderr.write('\r\x1b[2K')
      shown = false
    },
  }
}

/**
 * Asks on the terminal (the question on stderr); yes only for y or yes. End of input (Ctrl-D) is a no: readline's
 * question never settles then. Callers check for a terminal first.
 */
export async function confirm (question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  const closed = new Promise<string>(resolve => rl.once('close', () => resolve('')))
  try { return /^y(es)?$/i.test((await Promise.race([rl.question(printable(question)), closed])).trim()) }
  finally { rl.close() }
}
