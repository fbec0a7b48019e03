// Condition patterns: exact strings, or globs where `*` stays inside one `/`-separated segment and `**` may cross `/`.
// Which claim a pattern applies to, and lists meaning any-of, are match.ts's.

export function isGlob (pattern: string): boolean {
  return pattern.includes('*')
}

const STAR = -1 // any run of characters but `/`
const GLOBSTAR = -2 // any run of characters

/**
 * A glob as a matcher that runs in O(pattern × value) steps whatever the input: a set of pattern positions is
 * advanced one character at a time (Thompson's NFA simulation). A RegExp of the same rules backtracks: a pattern
 * such as `*-*-*-*-x` against a 250-character branch of dashes (anyone who can push names branches) takes seconds,
 * and minutes with one star more.
 */
export function globMatcher (pattern: string): (value: string) => boolean {
  const tokens: number[] = []
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') tokens.push(pattern.charCodeAt(i))
    else if (pattern[i + 1] === '*') {
      while (pattern[i + 1] === '*') i++
      tokens.push(GLOBSTAR)
    }
    else tokens.push(STAR)
  }
  const n = tokens.length
  // Closes a set over stars, which may match nothing: at i, a star also puts i + 1 in the set.
  const close = (set: Uint8Array) => {
    for (let i = 0; i < n; i++) if (set[i] && tokens[i] < 0) set[i + 1] = 1
  }
  return value => {
    let current = new Uint8Array(n + 1)
    let next = new Uint8Array(n + 1)
    current[0] = 1
    close(current)
    for (let k = 0; k < value.length; k++) {
      const c = value.charCodeAt(k)
      next.fill(0)
      let any = false
      for (let i = 0; i < n; i++) {
        if (!current[i]) continue
        const t = tokens[i]
        if (t === GLOBSTAR || (t === STAR && c !== 0x2f)) { next[i] = 1; any = true }
        else if (t === c) { next[i + 1] = 1; any = true }
      }
      if (!any) return false
      close(next)
      ;[current, next] = [next, current]
    }
    return current[n] === 1
  }
}

/** One compiled pattern: exact patterns compare as strings, globs through globMatcher. */
export function patternMatcher (pattern: string): (value: string) => boolean {
  if (!isGlob(pattern)) return value => value === pattern
  return globMatcher(pattern)
}
