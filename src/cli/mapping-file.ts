// Mapping files (DESIGN §6): plain YAML (plain-yaml.ts) with a `mappings:` list, each entry checked by parseMapping,
// every problem reported at its line and column, and a mapping written back as one. Comparing with the table and
// writing are plan.ts's and apply.ts's.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, stringify, visit } from 'yaml'
import type { Document, Node } from 'yaml'
import { MappingInvalid } from '../broker/errors'
import { parseMapping } from '../broker/mapping'
import type { Mapping } from '../broker/mapping'
import { MANAGED_FIELDS } from '../broker/mapping-fields'
import { mappingWarnings } from '../broker/mapping-warnings'
import { PLAIN_YAML, notPlainYaml } from './plain-yaml'
import type { FileProblem, Path } from './problems'

export interface FileMapping {
  readonly mapping: Mapping
  readonly file: string
  readonly line: number
  readonly col: number
  readonly index: number
}

export interface MappingFiles {
  readonly mappings: FileMapping[]
  readonly problems: FileProblem[]
  /** Advice that does not stop an apply (mappingWarnings), at its line and column. */
  readonly warnings: FileProblem[]
}

/** A mapping as a mapping file writes it: fields in DESIGN §4's order, no bookkeeping, defaults left out, one-pattern lists as a scalar. */
export function fileForm (mapping: Mapping): Record<string, unknown> {
  const conditions = Object.entries(mapping.conditions)
  return {
    scope: mapping.scope,
    role: mapping.role,
    roleArn: mapping.roleArn,
    pin: mapping.pin,
    ...(conditions.length && { conditions: Object.fromEntries(conditions.map(([claim, patterns]) => [claim, patterns.length === 1 ? patterns[0] : [...patterns]])) }),
    ...(mapping.maxDuration !== undefined && { maxDuration: mapping.maxDuration }),
    ...(mapping.sessionPolicy !== undefined && { sessionPolicy: JSON.parse(mapping.sessionPolicy) as unknown }),
    ...(mapping.sessionTags !== undefined && { sessionTags: [...mapping.sessionTags] }),
    ...(mapping.maxUses !== undefined && { maxUses: mapping.maxUses }),
    ...(mapping.maxTokenAge !== undefined && { maxTokenAge: mapping.maxTokenAge }),
    ...(mapping.description !== undefined && { description: mapping.description }),
    ...(!mapping.enabled && { enabled: false }),
  }
}

/** YAML for people and every YAML reader: 1.1-style quoting keeps "2012-10-17", "yes" and "on" strings everywhere. */
export const toYaml = (value: unknown) => stringify(value, { version: '1.1' }).trimEnd()

const TOP_LEVEL = new Set(['mappings', '$schema'])

const keyText = (key: unknown): string | undefined => isScalar(key) ? String(key.value) : undefined

/**
 * The offset a path points at: the key of the last map entry reached, or the list item. A path that leaves the
 * document (a required field that is missing) points at the deepest node that exists, such as the mapping itself.
 */
function locate (doc: Document, path: Path): number {
  let node: unknown = doc.contents
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = node.items.find(p => keyText(p.key) === String(seg))
      if (!pair) break
      offset = (pair.key as Node | null)?.range?.[0] ?? offset
      node = pair.value
    }
    else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg]
      offset = (node as Node).range?.[0] ?? offset
    }
    else break
  }
  return offset
}

/** Parses one mapping file's text. Problems are collected, never thrown: a file with any is not applied. */
export function parseMappingFile (text: string, file: string): MappingFiles {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, ...PLAIN_YAML })
  const problems: FileProblem[] = []
  const warnings: FileProblem[] = []
  const at = (offset: number, path: Path, message: string, into = problems) => {
    const { line, col } = lineCounter.linePos(offset)
    into.push({ file, line, col, path, message })
  }
  const atPath = (path: Path, message: string, into = problems) => at(locate(doc, path), path, message, into)

  // A tag beyond the core schema is named by notPlainYaml, at the tag; yaml's own "Unresolved tag" is kept only if it is not.
  const notPlain = notPlainYaml(doc, text)
  for (const e of [...doc.errors, ...doc.warnings]) if (!(e.code === 'TAG_RESOLVE_FAILED' && notPlain.length)) at(e.pos[0], [], e.message)
  for (const p of notPlain) at(p.offset, p.path, p.message)
  if (problems.length) return { mappings: [], problems, warnings }

  const root = doc.contents
  if (root === null || (isScalar(root) && root.value === null)) {
    at(0, [], 'the file is empty: it needs `mappings:` and a list of mappings (`mappings: []` for none)')
    return { mappings: [], problems, warnings }
  }
  if (!isMap(root)) {
    atPath([], isSeq(root)
      ? 'a mapping file is a map with a `mappings:` list, and this is a bare list: put `mappings:` on the line above it'
      : 'a mapping file is a map with a `mappings:` list')
    return { mappings: [], problems, warnings }
  }
  // One mapping written on its own (or `mappings get --json` saved as is): one problem, not one per field.
  if (!root.has('mappings') && (root.has('scope') || root.has('role'))) {
    atPath([], 'this looks like a single mapping: a mapping file lists them under `mappings:`; write `mappings:` on the line above and ' +
      'make this mapping a list item (`  - scope: ...`)')
    return { mappings: [], problems, warnings }
  }
  for (const pair of root.items) {
    const key = keyText(pair.key)
    if (key === undefined || !TOP_LEVEL.has(key)) {
      at((pair.key as Node | null)?.range?.[0] ?? 0, [], `unknown top-level key ${JSON.stringify(key ?? String(pair.key))}: a mapping file has \`mappings:\` (and optionally \`$schema:\`)`)
    }
  }
  const schema = root.get('$schema', true)
  if (schema !== undefined && !(isScalar(schema) && typeof schema.value === 'string')) atPath(['$schema'], 'must be a URL (a string)')
  const list = root.get('mappings', true)
  if (!root.has('mappings')) atPath([], 'missing `mappings:` (a list of mappings; `mappings: []` for none)')
  else if (!isSeq(list)) atPath(['mappings'], 'must be a list of mappings (`mappings: []` for none)')
  if (!isSeq(list)) return { mappings: [], problems, warnings }

  let js: { mappings: unknown[] }
  try { js = doc.toJS({ maxAliasCount: 100 }) as { mappings: unknown[] } }
  catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    // `ref: *prod` reads as a YAML alias, not a glob: point at it, and say to quote it.
    const alias = /Unresolved alias/.test(message) ? firstUnresolvedAlias(doc) : undefined
    if (alias) at(alias.offset, [], `${alias.source}: a value that starts with * is YAML for an alias, not a pattern; quote it ("${alias.source}")`)
    else atPath(['mappings'], message)
    return { mappings: [], problems, warnings }
  }
  const mappings: FileMapping[] = []
  js.mappings.forEach((raw, index) => {
    const base = ['mappings', index]
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      for (const field of MANAGED_FIELDS) {
        if (field in raw) atPath([...base, field], `${field} is set by tanuki-sts on every write; remove it from the file`)
      }
    }
    for (const n of numbersNotAsWritten(doc, text, base, raw)) {
      atPath(n.path, `${n.raw} is YAML for the number ${n.value}: quote it ("${n.raw}") to mean it as written, or write ${n.value}`)
    }
    try {
      const mapping = parseMapping(raw)
      const { line, col } = lineCounter.linePos(locate(doc, base))
      mappings.push({ mapping, file, line, col, index })
      for (const w of mappingWarnings(mapping)) atPath([...base, ...w.path], w.message, warnings)
    }
    catch (e) {
      if (!(e instanceof MappingInvalid)) throw e
      for (const p of e.problems) atPath([...base, ...p.path], p.message)
    }
  })
  problems.sort((a, b) => a.line - b.line || a.col - b.col)
  return { mappings, problems, warnings }
}

/**
 * Whole numbers written otherwise than as their decimal (`0o17`, `0x41A`, `010`, `1e3`, `+5`): YAML reads them as
 * numbers, so a pattern or a pin would silently become another text (`ref: 0o17` matching the branch "15").
 */
function numbersNotAsWritten (doc: Document, text: string, path: Path, value: unknown): Array<{ path: Path; raw: string; value: number }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => numbersNotAsWritten(doc, text, [...path, i], v))
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numbersNotAsWritten(doc, text, [...path, k], v))
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return []
  const node = doc.getIn(path, true)
  // An explicit tag (`!!int "3600"`) says what it means already.
  const raw = isScalar(node) && node.range && !node.tag ? text.slice(node.range[0], node.range[1]).trim() : String(value)
  return raw === String(value) ? [] : [{ path, raw, value }]
}

/** The first alias in the document whose anchor is never set: where it is, and how it was written. */
function firstUnresolvedAlias (doc: Document): { offset: number; source: string } | undefined {
  const anchors = new Set<string>()
  let found: { offset: number; source: string } | undefined
  visit(doc, {
    Node (_key, node) { if (node.anchor) anchors.add(node.anchor) },
    Alias (_key, node) {
      if (!found && !anchors.has(node.source)) found = { offset: node.range?.[0] ?? 0, source: `*${node.source}` }
    },
  })
  return found
}

/** Parses several files as one set of mappings: a (scope, role) pair may appear once across all of them. */
export function parseMappingFiles (inputs: ReadonlyArray<{ file: string; text: string }>): MappingFiles {
  const mappings: FileMapping[] = []
  const problems: FileProblem[] = []
  const warnings: FileProblem[] = []
  const seen = new Map<string, FileMapping>()
  for (const { file, text } of inputs) {
    const parsed = parseMappingFile(text, file)
    problems.push(...parsed.problems)
    warnings.push(...parsed.warnings)
    for (const entry of parsed.mappings) {
      const key = `${entry.mapping.scope}\n${entry.mapping.role}`
      const first = seen.get(key)
      if (first) {
        const where = first.file === entry.file ? `line ${first.line}` : `${first.file}:${first.line}`
        problems.push({
          file: entry.file, line: entry.line, col: entry.col, path: ['mappings', entry.index],
          message: `duplicate: ${entry.mapping.scope} role "${entry.mapping.role}" is already mapped at ${where} (mappings[${first.index}])`,
        })
        continue
      }
      seen.set(key, entry)
      mappings.push(entry)
    }
  }
  const order = new Map(inputs.map((input, i) => [input.file, i]))
  problems.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.col - b.col)
  return { mappings, problems, warnings }
}
