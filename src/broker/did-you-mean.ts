// The name someone most likely meant by a misspelt one (`reff` -> `ref`, `rolearn` -> `roleArn`), for messages.
// Which names exist is the caller's (mapping-fields.ts's fields, claims.ts's claims); this file only compares spellings.
import { distance } from 'fastest-levenshtein'

/** Two adjacent letters swapped (`deplyo`, `deploy`): the commonest typo, one slip, though Levenshtein counts it as two. */
function swapped (a: string, b: string): boolean {
  if (a.length !== b.length) return false
  const at = [...a].findIndex((c, i) => c !== b[i])
  return at >= 0 && at < a.length - 1 && a[at] === b[at + 1] && a[at + 1] === b[at] && a.slice(at + 2) === b.slice(at + 2)
}

/**
 * The one known name closest to `name`, ignoring case and `_`/`-`, when it is close enough to be a typo (a distance
 * (Levenshtein, with a swap of adjacent letters counted as one) of at most a quarter of its length, and at least 1);
 * undefined when none is, or when two are equally close.
 */
export function closestName (name: string, known: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  const wanted = fold(name)
  const limit = Math.max(1, Math.floor(wanted.length / 4))
  let best: string | undefined
  let bestDistance = Infinity
  let tie = false
  for (const candidate of known) {
    const folded = fold(candidate)
    const d = swapped(wanted, folded) ? 1 : distance(wanted, folded)
    if (d < bestDistance) { best = candidate; bestDistance = d; tie = false }
    else if (d === bestDistance) tie = true
  }
  return best !== undefined && !tie && bestDistance <= limit ? best : undefined
}

/** `; did you mean "ref"?`, or nothing: the tail of a message about an unknown name. */
export function didYouMean (name: string, known: readonly string[]): string {
  const guess = closestName(name, known)
  return guess === undefined || guess === name ? '' : `; did you mean "${guess}"?`
}
