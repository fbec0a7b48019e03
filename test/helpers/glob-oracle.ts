// The glob rules of src/broker/glob.ts written the obvious way, as a RegExp: the oracle globMatcher is tested against.
// Not for the broker: a RegExp backtracks, and anyone who can push names a branch.

/** Compiles a pattern to an anchored RegExp; every character but `*` is literal. The tests' reference: the broker matches with globMatcher. */
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
    else source += c.replace(/[\\^$.|?+()[\]{}-]/g, '\\$&')
  }
  return new RegExp(`^${source}$`)
}
