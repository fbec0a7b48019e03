// A mapping in words: who it lets use which role, under what conditions, pinned how, for how long. The rules themselves
// are mapping.ts's and match.ts's (defaults included); this file only says them, as HTML that escapes every value.
import { DEFAULT_SESSION_TAGS, MAX_DURATION } from '../broker/role'
import { parseScope } from '../broker/scope'
import type { Mapping } from '../broker/mapping'
import { html } from './html'
import type { Html } from './html'

/** The projects a scope covers, in words. */
export function scopeWords (scope: string): Html {
  const parsed = parseScope(scope)
  if (!parsed) return html`the scope <code>${scope}</code>, which is not one the broker can match`
  const url = new URL(parsed.base)
  const path = url.pathname.slice(1)
  const host = html`<code>${url.origin}</code>`
  if (parsed.kind === 'project') return html`the project <code>${path}</code> on ${host}`
  if (parsed.kind === 'group') return html`the projects directly in the group <code>${path}</code> on ${host} (not those in its subgroups)`
  return path ? html`every project in the group <code>${path}</code> and its subgroups, at any depth, on ${host}` : html`every project on ${host}`
}

const quoted = (patterns: readonly string[], last = ' or ') => patterns.map((p, i) => html`${i === 0 ? '' : i === patterns.length - 1 ? last : ', '}<code>${p}</code>`)

/** One condition: is / matches / one of, saying what a glob does when there is one. */
export function conditionWords (claim: string, patterns: readonly string[], defaulted = false): Html {
  const glob = patterns.some(p => p.includes('*'))
  const verb = patterns.length > 1 ? (glob ? 'matches one of' : 'is one of') : (glob ? 'matches' : 'is')
  const note = glob ? html` <span class="muted">(<code>*</code> stays within one <code>/</code>-separated segment; <code>**</code> crosses them)</span>` : ''
  const why = defaulted ? html` <span class="muted">(the default: the mapping says nothing of ref_protected, so only protected branches and tags)</span>` : ''
  return html`<code>${claim}</code> ${verb} ${quoted(patterns)}${note}${why}`
}

export function mappingWords (m: Mapping): Html {
  const pin = m.pin === 'none'
    ? (parseScope(m.scope)?.kind === 'subtree'
        ? html`Not pinned (<code>pin: none</code>, as every <code>/**</code> scope must be): any project at a covered path gets the role, including one deleted and created again.`
        : html`<strong>Not pinned</strong> (<code>pin: none</code>): a project deleted and created again at this path would get the role too.`)
    : Object.entries(m.pin).map(([claim, id]) => html`Pinned to <code>${claim}</code> <code>${id}</code>: another project or group that takes this path (after a rename, or deleted and created again) does not get the role.`)
  const conditions = Object.entries(m.conditions).map(([claim, patterns]) => html`<li>${conditionWords(claim, patterns)}</li>`)
  const defaulted = 'ref_protected' in m.conditions ? '' : html`<li>${conditionWords('ref_protected', ['true'], true)}</li>`
  return html`<ul class="words">
<li>${m.enabled ? '' : html`<strong class="bad">Disabled</strong>: it grants nothing, and no broader mapping takes over for the projects it decides. `}Jobs of ${scopeWords(m.scope)} may ask for the role <strong>${m.role}</strong>; the broker then assumes <code>${m.roleArn}</code>.</li>
<li>${pin}</li>
<li>Only when every condition holds:<ul>${conditions}${defaulted}</ul></li>
<li>${m.maxDuration === undefined ? html`Sessions last up to the broker's ceiling (BROKER_MAX_DURATION, at most ${MAX_DURATION} seconds).` : html`Sessions last at most ${m.maxDuration} seconds (or the broker's lower ceiling).`}</li>
${m.maxUses === undefined ? '' : html`<li>One ID token may get credentials for this role at most ${m.maxUses} time${m.maxUses === 1 ? '' : 's'}.</li>`}
${m.maxTokenAge === undefined ? '' : html`<li>Tokens issued more than ${m.maxTokenAge} seconds earlier (their <code>iat</code>) are refused.</li>`}
<li>${m.sessionTags === undefined ? html`Sessions carry the default tags ${quoted(DEFAULT_SESSION_TAGS, ' and ')}, prefixed <code>gitlab:</code>.` : html`Sessions carry the tags ${quoted(m.sessionTags, ' and ')}, prefixed <code>gitlab:</code>.`}</li>
${m.sessionPolicy === undefined ? '' : html`<li>Sessions are scoped down by this session policy:<pre>${JSON.stringify(JSON.parse(m.sessionPolicy), null, 2)}</pre></li>`}
</ul>`
}
