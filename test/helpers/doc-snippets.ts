// The code blocks the docs mark as tested (`<!-- e2e: NAME -->` on the line before a fenced block), so a test runs
// exactly what a page shows. Which block a test runs is the test's business; which page shows it is the docs'.
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from '../../src/local/stack'

/** A marked block: the page it is on (relative to the repository), its name and its text. */
export interface MarkedBlock { page: string; name: string; text: string }

const MARKED = /<!-- e2e: ([\w-]+) -->\n```\w*\n([\s\S]*?)\n```/g

/** README.md and every Markdown page under docs/: the pages a reader finds. */
export function docPages (): string[] {
  const pages = [join(ROOT, 'README.md')]
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) walk(join(dir, entry.name))
      else if (entry.name.endsWith('.md')) pages.push(join(dir, entry.name))
    }
  }
  walk(join(ROOT, 'docs'))
  return pages.map(p => relative(ROOT, p))
}

/** Every marked block of every page, in page order. */
export function markedBlocks (): MarkedBlock[] {
  return docPages().flatMap(page => [...readFileSync(join(ROOT, page), 'utf8').matchAll(MARKED)]
    .map(m => ({ page, name: m[1], text: m[2] })))
}

/**
 * The block marked `<!-- e2e: NAME -->`, wherever it lives. A block may be shown on more than one page (the README's
 * one-line usage is also the CI page's), but then every copy must be the same text, so whichever a reader copies is the one tested.
 */
export function docSnippet (name: string): string {
  const blocks = markedBlocks().filter(b => b.name === name)
  if (blocks.length === 0) throw new Error(`no page (README.md, docs/**/*.md) has a block marked "e2e: ${name}"`)
  const differing = blocks.filter(b => b.text !== blocks[0].text)
  if (differing.length > 0) {
    throw new Error(`the blocks marked "e2e: ${name}" differ: ${blocks[0].page} and ${differing.map(b => b.page).join(', ')} must show the same text`)
  }
  return blocks[0].text
}
