// A mapping is plain data, or it is invalid: property tests on the three readers (mapping files, table items, the parser
// itself). Any YAML tag, any DynamoDB attribute type and any non-plain value, placed anywhere in a valid mapping, gives
// an invalid mapping or exactly the mapping written plainly, never more. The same attacks through the CLI and the
// broker on sandbox are mapping-attacks-test.ts. Runs: FC_RUNS (small in `npm test`, 10000 in `npm run fuzz`).
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb'
import fc from 'fast-check'
import test from 'tape'
import { MappingInvalid } from '../../src/broker/errors'
import { parseMapping } from '../../src/broker/mapping'
import { parseItem, toItem } from '../../src/broker/mappings'
import { parseMappingFile } from '../../src/cli/mapping-file'
import { canonical } from '../../src/cli/plan'
import { ROLE_ARN } from '../helpers/broker-env'
import { POLICY } from './helpers/mapping-fixtures'

const runs = Number(process.env.FC_RUNS ?? 200)
type Path = Array<string | number>

// ---- a valid mapping, as a file writes it --------------------------------------------------------------------------

const PATTERNS: Record<string, string[]> = {
  ref: ['main', 'release/*', 'v1.**'], ref_type: ['branch', 'tag'], ref_protected: ['true', 'false'],
  environment: ['production', 'staging'], project_id: ['4301877'], user_login: ['ada.lovelace', 'bot-*'],
}
const patterns = (claim: string) => fc.oneof(fc.constantFrom(...PATTERNS[claim]), fc.subarray(PATTERNS[claim], { minLength: 1 }))
const conditions = fc.record(Object.fromEntries(Object.keys(PATTERNS).map(c => [c, patterns(c)])), { requiredKeys: [] })
const fileMapping: fc.Arbitrary<Record<string, unknown>> = fc.record({
  scope: fc.constant('https://gitlab.com/acme/payments/api'),
  role: fc.constantFrom('deploy', 'read-only'),
  roleArn: fc.constant(ROLE_ARN),
  pin: fc.constantFrom<unknown>({ project_id: '4301877' }, 'none'),
  conditions,
  maxDuration: fc.integer({ min: 900, max: 3600 }),
  maxUses: fc.integer({ min: 1, max: 1000 }),
  maxTokenAge: fc.integer({ min: 1, max: 86400 }),
  sessionTags: fc.subarray(['project_path', 'ref', 'job_id'], { minLength: 1 }),
  sessionPolicy: fc.constant(POLICY),
  description: fc.constant('deploy the payments API'),
  enabled: fc.boolean(),
}, { requiredKeys: ['scope', 'role', 'roleArn', 'pin'] })

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Every place in a value: the paths of its maps, lists and scalars (the root included). */
function paths (value: unknown, at: Path = []): Path[] {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))]
  if (isMap(value)) return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))]
  return [at]
}
const same = (a: Path, b: Path) => a.length === b.length && a.every((s, i) => s === b[i])

/** Flow-style YAML (JSON is YAML) with one tag written before the value, or the key, at `target`. */
function emit (value: unknown, target?: { path: Path; key: boolean; tag: string }, at: Path = []): string {
  const tagged = target && !target.key && same(at, target.path) ? `${target.tag} ` : ''
  if (Array.isArray(value)) return `${tagged}[${value.map((v, i) => emit(v, target, [...at, i])).join(', ')}]`
  if (isMap(value)) {
    return `${tagged}{${Object.entries(value).map(([k, v]) => {
      const keyTag = target?.key && same([...at, k], target.path) ? `${target.tag} ` : ''
      return `${keyTag}${JSON.stringify(k)}: ${emit(v, target, [...at, k])}`
    }).join(', ')}}`
  }
  return `${tagged}${JSON.stringify(value)}`
}

/** YAML's core tags, YAML 1.1's others, and custom ones, in each way a tag is spelt. */
const TAGS = ['!!str', '!!int', '!!float', '!!bool', '!!null', '!!map', '!!seq',
  '!!binary', '!!omap', '!!pairs', '!!set', '!!timestamp', '!!merge', '!!value', '!!yaml',
  '!vault', '!', '!<tag:yaml.org,2002:omap>', '!<tag:example.com,2026:policy>', '!!python/object:os.system', '!!js/function']

/**
 * What a core tag makes of a value written as JSON, as the value written plainly (YAML 1.2 core schema, §10.3.2);
 * undefined where the tag does not fit the value, or is not a core tag: such a file must have a problem.
 */
function plainly (tag: string, value: unknown): { value: unknown } | undefined {
  const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value)
  const text = scalar ? String(value) : ''
  switch (tag) {
    case '!!str': return scalar ? { value: text } : undefined
    // The non-specific tag: a string, a map or a list, by what is written.
    case '!': return scalar ? { value: text } : { value }
    case '!!int': return scalar && /^[-+]?[0-9]+$/.test(text) ? { value: Number(text) } : undefined
    case '!!float': return scalar && /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text) ? { value: Number(text) } : undefined
    case '!!bool': return scalar && /^(true|True|TRUE|false|False|FALSE)$/.test(text) ? { value: /^t/i.test(text) } : undefined
    case '!!null': return value === null || (typeof value === 'string' && /^(~|null|Null|NULL|)$/.test(value)) ? { value: null } : undefined
    case '!!map': return isMap(value) ? { value } : undefined
    case '!!seq': return Array.isArray(value) ? { value } : undefined
    default: return undefined
  }
}

/** A copy of `value` with the value at `path` replaced. */
function replaced (value: unknown, path: Path, by: unknown): unknown {
  if (path.length === 0) return by
  const copy = structuredClone(value) as Record<string | number, unknown>
  let parent = copy
  for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>
  parent[path[path.length - 1]] = by
  return copy
}

test('property: any YAML tag, on any value or key of a valid mapping file, gives a problem or exactly the mapping written plainly', t => {
  let refused = 0
  let same = 0
  fc.assert(fc.property(fileMapping, fc.nat(), fc.constantFrom(...TAGS), fc.boolean(), (mapping, pick, tag, onKey) => {
    const file = { mappings: [mapping] }
    if (parseMappingFile(emit(file), 'm.yaml').problems.length) return false
    const places = paths(file).filter(p => !onKey || typeof p[p.length - 1] === 'string')
    const path = places[pick % places.length]
    const read = parseMappingFile(emit(file, { path, key: onKey, tag }), 'm.yaml')
    // A file with any problem is not applied; one without must mean what the same value written plainly means.
    if (read.problems.length) return ++refused > 0
    same++
    const key = path[path.length - 1]
    const meant = plainly(tag, onKey ? key : path.reduce<unknown>((v, seg) => (v as Record<string | number, unknown>)[seg], file))
    if (meant === undefined || (onKey && String(meant.value) !== key)) return false
    const plain = parseMappingFile(emit(onKey ? file : replaced(file, path, meant.value)), 'm.yaml')
    return plain.problems.length === 0 && read.mappings.length === 1 && canonical(read.mappings[0].mapping) === canonical(plain.mappings[0].mapping)
  }), { numRuns: runs * 2 })
  t.pass(`never more than the plain file: ${refused} tagged files had a problem, ${same} meant exactly the mapping written plainly`)
  t.end()
})

const leaf = (s: fc.Arbitrary<string>) => s.map(S => ({ S }) as AttributeValue)
const attribute: fc.Arbitrary<AttributeValue> = fc.letrec<{ av: AttributeValue }>(tie => ({
  av: fc.oneof({ maxDepth: 3 },
    leaf(fc.oneof(fc.constantFrom('main', 'none', '4301877', 'true', 'deploy', 'project_path', JSON.stringify(POLICY), ''), fc.string({ maxLength: 8 }))),
    fc.oneof(fc.integer({ min: -5, max: 5000 }).map(String), fc.constantFrom('1.5', '1e3', '3600', '99999999999999999999')).map(N => ({ N }) as AttributeValue),
    fc.boolean().map(BOOL => ({ BOOL }) as AttributeValue),
    fc.constant({ NULL: true } as AttributeValue),
    fc.array(fc.constantFrom('main', 'ref', '4301877', 'project_path'), { minLength: 1, maxLength: 3 }).map(SS => ({ SS }) as AttributeValue),
    fc.array(fc.constantFrom('1', '900', '4301877'), { minLength: 1, maxLength: 3 }).map(NS => ({ NS }) as AttributeValue),
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }).map(BS => ({ BS }) as AttributeValue),
    fc.uint8Array({ maxLength: 4 }).map(B => ({ B }) as AttributeValue),
    fc.dictionary(fc.constantFrom('ref', 'project_id', 'ref_protected', 'Version', 'Statement', 'x'), tie('av'), { maxKeys: 3 }).map(M => ({ M }) as AttributeValue),
    fc.array(tie('av'), { maxLength: 3 }).map(L => ({ L }) as AttributeValue),
  ),
})).av

/** Whether an attribute holds only what the format is written with: S, BOOL, whole-number N, and M and L of those. */
function plainAttribute (av: AttributeValue): boolean {
  if (av.S !== undefined || av.BOOL !== undefined) return true
  if (av.N !== undefined) return /^-?(0|[1-9][0-9]*)$/.test(av.N) && Number.isSafeInteger(Number(av.N))
  if (av.M !== undefined) return Object.values(av.M).every(plainAttribute)
  if (av.L !== undefined) return av.L.every(plainAttribute)
  return false
}

/** The item with `av` at `path` (a top-level attribute, or inside an M or an L). */
function placed (item: Record<string, AttributeValue>, path: Path, av: AttributeValue): Record<string, AttributeValue> {
  const copy = structuredClone(item)
  let parent: Record<string | number, AttributeValue> = copy
  for (const seg of path.slice(0, -1)) {
    const here = parent[seg]
    parent = (here.M ?? here.L) as Record<string | number, AttributeValue>
  }
  parent[path[path.length - 1]] = av
  return copy
}

/** The attribute paths of an item: each top-level attribute, and each key or index inside its maps and lists. */
function attributePaths (item: Record<string, AttributeValue>, at: Path = []): Path[] {
  return Object.entries(item).flatMap(([k, av]) => {
    const here = [...at, k]
    if (av.M) return [here, ...attributePaths(av.M, here)]
    if (av.L) return [here, ...av.L.flatMap((v, i) => [[...here, i], ...(v.M ? attributePaths(v.M, [...here, i]) : [])])]
    return [here]
  })
}

test('property: any DynamoDB attribute type, at any attribute of a valid item, gives an invalid mapping or exactly the plain one', t => {
  let refused = 0
  let plain = 0
  fc.assert(fc.property(fileMapping, fc.boolean(), fc.nat(), attribute, (mapping, asWritten, pick, av) => {
    // The item the CLI writes, or the file form marshalled as is (a sessionPolicy map, patterns not in lists).
    const item = asWritten ? marshall(mapping) : toItem(parseMapping(mapping))
    const where = attributePaths(item)
    const changed = placed(item, where[pick % where.length], av)
    const actual = parseItem(changed)
    if (!plainAttribute({ M: changed })) {
      refused++
      return actual instanceof MappingInvalid
    }
    // Plain types: the same answer as the same values given as plain data.
    plain++
    let expected: unknown
    try { expected = parseMapping(unmarshall(changed)) }
    catch (err) { expected = err }
    if (expected instanceof MappingInvalid) return actual instanceof MappingInvalid
    return !(actual instanceof MappingInvalid) && canonical(actual) === canonical(expected)
  }), { numRuns: runs * 2 })
  t.pass(`a set, binary, NULL or fractional number anywhere was invalid every time (${refused}); plain types read as plain data did (${plain})`)
  t.end()
})

test('property: a value that is not plain data (Map, Set, Date, bytes, boxed or class instance), at any place of a mapping, makes it invalid', t => {
  class Custom { ref = 'main' }
  const notPlain: Array<() => unknown> = [
    () => new Map([['ref', 'main']]), () => new Set(['main']), () => new Date(0), () => new Uint8Array([1]), () => Buffer.from('main'),
    () => new Custom(), () => Object.create({ ref: 'main' }) as unknown, () => new String('main'), () => new Number(3600), () => new Boolean(true),
  ]
  fc.assert(fc.property(fileMapping, fc.nat(), fc.constantFrom(...notPlain), (mapping, pick, make) => {
    const where = paths(mapping)
    try { parseMapping(replaced(mapping, where[pick % where.length], make())); return false }
    catch (err) { return err instanceof MappingInvalid }
  }), { numRuns: runs * 2 })
  t.pass('refused every time, at every field and depth')
  t.end()
})
