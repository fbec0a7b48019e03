// The name someone most likely meant by a misspelt one (`reff` -> `ref`, `rolearn` -> `roleArn`), for messages.
// Which names exist is the caller's (policy.ts's fields, claims.ts's claims); this file only compares spellings.

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps each cost 1. */
export function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The one known name closest to `name`, ignoring case and `_`/`-`, when it is close enough to be a typo (a distance
 * of at most a quarter of its length, and at least 1); undefined when none is, or when two are equally close.
 */
export function closestName (name: string, known: readonly string[]): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '')
  const wanted = fold(name)
  const limit = Math.max(1, Math.floor(wanted.length / 4))
  let best: string | undefined
  let bestDistance = Infinity
  let tie = false
  for (const candidate of known) {
    const distance = editDistance(wanted, fold(candidate))
    if (distance < bestDistance) { best = candidate; bestDistance = distance; tie = false }
    else if (distance === bestDistance) tie = true
  }
  return best !== undefined && !tie && bestDistance <= limit ? best : undefined
}

/** `; did you mean "ref"?`, or nothing: the tail of a message about an unknown name. */
export function didYouMean (name: string, known: readonly string[]): string {
  const guess = closestName(name, known)
  return guess === undefined || guess === name ? '' : `; did you mean "${guess}"?`
}
