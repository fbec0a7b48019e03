// The docs hold together: every block a page marks as tested is run by the end-to-end suite and shows the same text
// wherever it appears, and every link between pages (and into the repository) leads somewhere, heading included.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import test from 'tape'
import { ROOT } from '../helpers/broker-env'
import { docPages, docSnippet, markedBlocks } from '../helpers/doc-snippets'

/**
 * Pages that other branches write, linked from here before they are merged. A link to one of them may lead nowhere
 * until then; once the page exists, its links are checked like any other. Empty: every linked page is in the repository.
 */
const WRITTEN_ELSEWHERE = new Set<string>()

const read = (page: string) => readFileSync(join(ROOT, page), 'utf8')
/** A page without its fenced blocks and code spans: a `#` in a YAML comment is not a heading, `[y/N]` not a link. */
const prose = (text: string) => text.replace(/^( *)(```|~~~)[^\n]*\n[\s\S]*?\n\1\2 *$/gm, '').replace(/`[^`\n]*`/g, m => m.replace(/[[\]()]/g, ' '))

/** Heading anchors as GitHub and GitLab make them: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors (page: string): Set<string> {
  const text = read(page).replace(/^( *)(```|~~~)[^\n]*\n[\s\S]*?\n\1\2 *$/gm, '')
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of text.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = m[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

test('every marked block is one fenced block, shows the same text on every page, and is run by the end-to-end suite', async t => {
  const blocks = markedBlocks()
  const markers = docPages().flatMap(page => [...read(page).matchAll(/<!-- e2e: ([\w-]+) -->/g)].map(m => `${page}: ${m[1]}`))
  t.deepEqual(markers, blocks.map(b => `${b.page}: ${b.name}`), `each of the ${markers.length} markers sits right above a fenced block`)
  const e2e = readdirSync(join(ROOT, 'test', 'e2e')).filter(f => f.endsWith('-test.ts')).map(f => readFileSync(join(ROOT, 'test', 'e2e', f), 'utf8')).join('\n')
  for (const name of [...new Set(blocks.map(b => b.name))]) {
    const pages = blocks.filter(b => b.name === name).map(b => b.page)
    t.doesNotThrow(() => docSnippet(name), `${name} (${pages.join(', ')}): the same text on every page`)
    t.ok(e2e.includes(`'${name}'`), `${name}: an end-to-end test runs it`)
  }
})

test('every link between pages and into the repository leads to a file, and to a heading of it', async t => {
  let checked = 0
  for (const page of docPages()) {
    for (const m of prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]
      if (/^[a-z]+:/i.test(link)) continue
      const [path, anchor] = link.split('#') as [string, string | undefined]
      const target = path === '' ? page : normalize(join(dirname(page), path))
      const where = `${page}: ${link}`
      if (relative(ROOT, join(ROOT, target)).startsWith('..')) { t.fail(`${where} leaves the repository`); continue }
      if (!existsSync(join(ROOT, target))) {
        if (WRITTEN_ELSEWHERE.has(target) && anchor === undefined) continue
        t.fail(`${where}: no such file`)
        continue
      }
      checked++
      if (anchor === undefined) continue
      if (!target.endsWith('.md')) { t.fail(`${where}: an anchor into a file that is not a page`); continue }
      if (anchor.includes('--')) t.fail(`${where}: GitHub and GitLab spell this heading's anchor differently; reword the heading`)
      else if (!anchors(target).has(anchor)) t.fail(`${where}: ${target} has no heading with that anchor`)
    }
  }
  t.ok(checked > 50, `${checked} links checked`)
})

test('README.md stays a front page: what it is, a table of contents, and a map of every page in docs/', async t => {
  const readme = read('README.md')
  t.ok(anchors('README.md').has('contents'), 'a Contents section')
  for (const heading of ['quick-start', 'prerequisites', 'documentation']) t.ok(anchors('README.md').has(heading), `a ${heading} section`)
  const pages = readdirSync(join(ROOT, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)
  for (const page of pages) t.ok(readme.includes(`](${page})`), `the map links ${page}`)
})
