// Mapping files are plain YAML: read with the core schema (maps, lists, strings, numbers, true/false, null), and a tag
// only where it is a core one that fits its value (`!!str main`, `!!int "3600"`, the non-specific `!`). `!!omap`,
// `!!set`, `!!binary`, `!!timestamp` and custom tags would make a Map, Set, byte array, date or a reading of their own
// where the parser expects plain data: each is a problem at the tag's line and column, and the file is not applied.
import { isAlias, isMap, isScalar, isSeq } from 'yaml'
import type { Document, DocumentOptions, ParseOptions, SchemaOptions } from 'yaml'
import type { Path } from './mapping-file'

/** The parse options that keep a file plain: the core schema, and no tags beyond it (not even those yaml knows). */
export const PLAIN_YAML: ParseOptions & DocumentOptions & SchemaOptions = { schema: 'core', resolveKnownTags: false }

const CORE = 'tag:yaml.org,2002:'
/** YAML's core tags, each with the type of value it gives. */
const CORE_TAGS: Readonly<Record<string, (node: unknown) => boolean>> = {
  [`${CORE}str`]: n => isScalar(n) && typeof n.value === 'string',
  [`${CORE}int`]: n => isScalar(n) && Number.isInteger(n.value),
  [`${CORE}float`]: n => isScalar(n) && typeof n.value === 'number',
  [`${CORE}bool`]: n => isScalar(n) && typeof n.value === 'boolean',
  [`${CORE}null`]: n => isScalar(n) && n.value === null,
  [`${CORE}map`]: n => isMap(n),
  [`${CORE}seq`]: n => isSeq(n),
  // The non-specific tag: YAML reads `! x` as the string "x" (and `! {...}`, `! [...]` as !!map and !!seq).
  '!': n => isScalar(n) && typeof n.value === 'string',
}

export interface YamlProblem { readonly offset: number; readonly path: Path; readonly message: string }

/** `!!omap` for yaml's `tag:yaml.org,2002:omap`; any other tag as resolved. */
const shown = (tag: string) => tag.startsWith(CORE) ? `!!${tag.slice(CORE.length)}` : tag

/** Where the tag of a node starts: back from its value over spaces and an anchor; the value itself when that fails. */
function tagOffset (text: string, start: number): number {
  let end = start
  for (let hops = 0; hops < 2; hops++) {
    while (end > 0 && /\s/.test(text[end - 1])) end--
    let from = end
    // A verbatim tag (`!<tag:yaml.org,2002:omap>`) may hold a comma; other props end at a flow indicator.
    const verbatim = text[end - 1] === '>' ? text.lastIndexOf('!<', end) : -1
    if (verbatim !== -1 && !/\s/.test(text.slice(verbatim, end))) from = verbatim
    else while (from > 0 && !/[\s[\]{},]/.test(text[from - 1])) from--
    const token = text.slice(from, end)
    if (token.startsWith('!')) return from
    if (!token.startsWith('&')) break
    end = from
  }
  return start
}

/** Every tag and key that is not plain YAML, in document order. */
export function notPlainYaml (doc: Document, text: string): YamlProblem[] {
  const problems: YamlProblem[] = []
  const check = (node: unknown, path: Path) => {
    if (!node || isAlias(node) || !(isScalar(node) || isMap(node) || isSeq(node))) return
    const tag = node.tag
    const start = node.range?.[0] ?? 0
    if (tag !== undefined && !CORE_TAGS[tag]?.(node)) {
      problems.push({
        offset: tagOffset(text, start),
        path,
        message: CORE_TAGS[tag]
          ? `${shown(tag)} does not fit this value: write it without the tag`
          : `${shown(tag)} is not allowed: a mapping file is plain YAML (maps, lists, strings, numbers, true/false, null); write the value without the tag`,
      })
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) check(pair.key, path)
        else if (pair.key !== null) {
          const at = (pair.key as { range?: [number, number, number] }).range?.[0] ?? start
          problems.push({ offset: at, path, message: 'a key must be written as text, not as a list, a map or an alias' })
        }
        check(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : '?'])
      }
    }
    if (isSeq(node)) node.items.forEach((item, i) => check(item, [...path, i]))
  }
  check(doc.contents, [])
  return problems
}
