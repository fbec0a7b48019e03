// One mapping: what it does in words (words.ts), as a mapping file, and who changed it last; invalid ones with why.
import { MappingInvalid } from '../../broker/errors'
import { fileForm, toYaml } from '../../cli/mapping-file'
import { PageError } from '../app'
import type { PageContext } from '../app'
import { consoleHref, html } from '../html'
import { layout } from '../layout'
import { field } from '../request'
import { page } from '../respond'
import type { ConsoleResponse } from '../respond'
import { mappingWords } from '../words'
import { problemsList, updatedCell } from './common'

/** The scope and role a page is about (query string), both required. */
export function mappingKey (params: URLSearchParams): { scope: string; role: string } {
  const scope = field(params, 'scope', 2048)
  const role = field(params, 'role', 64)
  if (!scope || !role) throw new PageError(400, 'bad_request', 'Name a mapping by its scope and role.')
  return { scope, role }
}

export async function mappingPage (ctx: PageContext): Promise<ConsoleResponse> {
  const { scope, role } = mappingKey(ctx.req.query)
  const entry = await ctx.deps.admin.read(scope, role)
  if (!entry) throw new PageError(404, 'not_found', `There is no mapping for the role "${role}" at ${scope}.`)
  const edit = ctx.role === 'editor' ? html`<p><a href="${consoleHref('/console/mappings/edit', { scope, role })}">Edit this mapping</a></p>` : ''
  const updated = updatedCell(entry.item)
  const saved = ctx.req.query.get('saved') === '1' ? html`<p class="good" role="status">Saved, and recorded in the audit.</p>` : ''
  const about = entry.mapping instanceof MappingInvalid
    ? html`<p class="danger"><strong>Invalid:</strong> the broker denies every request this mapping decides, and no broader mapping takes over.</p>
${problemsList(entry.mapping)}${edit}<h2>As stored</h2><pre>${toYaml({ mappings: [entry.item] })}</pre>`
    : html`<p class="muted">Scope <code>${scope}</code>, role <strong>${role}</strong>${updated ? `, updated ${updated}` : ''}.</p>
${entry.mapping.description ? html`<p>${entry.mapping.description}</p>` : ''}
<h2>In words</h2>${mappingWords(entry.mapping)}${edit}
<h2>As a mapping file</h2><pre>${toYaml({ mappings: [fileForm(entry.mapping)] })}</pre>`
  const body = html`${saved}${about}`
  return page(200, layout({ title: `Mapping: ${role}`, section: 'mappings', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}
