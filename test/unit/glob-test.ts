import fc from 'fast-check'
import test from 'tape'
import { patternMatcher } from '../../src/broker/glob'
import { compileGlob } from '../helpers/glob-oracle'

const runs = Number(process.env.FC_RUNS ?? 300)
const segment = fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/)
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map(s => s.join('/'))

test('glob: examples', t => {
  t.ok(patternMatcher('main')('main'), 'an exact pattern matches itself')
  t.notOk(patternMatcher('main')('main2'), 'an exact pattern is anchored')
  t.ok(patternMatcher('release/*')('release/1.0'), '* matches within a segment')
  t.notOk(patternMatcher('release/*')('release/1/0'), '* does not cross /')
  t.ok(patternMatcher('release/**')('release/1/0'), '** crosses /')
  t.ok(patternMatcher('*')(''), '* matches the empty string')
  t.notOk(patternMatcher('a.c')('abc'), 'a dot is literal')
  t.notOk(patternMatcher('(a|b)')('a'), 'parentheses and bars are literal')
  t.end()
})

test('glob property: * never crosses /', t => {
  fc.assert(fc.property(segment, path, (prefix, rest) => {
    const value = `${prefix}/${rest}`
    const single = compileGlob(`${prefix}/*`).test(value)
    return single === !rest.includes('/')
  }), { numRuns: runs })
  t.pass('a single * matched exactly the one-segment tails')
  t.end()
})

test('glob property: ** matches every path below its prefix', t => {
  fc.assert(fc.property(segment, path, (prefix, rest) => compileGlob(`${prefix}/**`).test(`${prefix}/${rest}`)), { numRuns: runs })
  t.pass('prefix/** matched every descendant')
  t.end()
})

test('glob property: a pattern without * matches only itself, whatever its characters', t => {
  fc.assert(fc.property(fc.string().filter(s => !s.includes('*')), fc.string(), (pattern, other) => {
    const match = patternMatcher(pattern)
    return match(pattern) && (other === pattern || !match(other))
  }), { numRuns: runs })
  t.pass('exact patterns are exact')
  t.end()
})

test('glob property: never throws on arbitrary patterns and values', t => {
  fc.assert(fc.property(fc.string(), fc.string(), (pattern, value) => typeof compileGlob(pattern).test(value) === 'boolean'), { numRuns: runs })
  t.pass('compiled without throwing')
  t.end()
})
