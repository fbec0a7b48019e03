// Condition patterns: exact strings, or globs where `*` stays inside one `/`-separated segment and `**` may cross `/`.
// Which claim a pattern applies to, and lists meaning any-of, are policy.ts's.

/** Compiles a pattern to an anchored RegExp; every character but `*` is literal. */
export function compileGlob (pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        source += '[\\s\\S]*'
        while (pattern[i + 1] === '*') i++
      }
      else source += '[^/]*'
    }
    else source += c.replace(/[\\^$.|?+()[\]{}\-]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}

export function isGlob (pattern: string): boolean {
  return pattern.includes('*')
}

/** One compiled pattern: exact patterns compare as strings, never through a RegExp. */
export function patternMatcher (pattern: string): (value: string) => boolean {
  if (!isGlob(pattern)) return value => value === pattern
  const re = compileGlob(pattern)
  return value => re.test(value)
}
