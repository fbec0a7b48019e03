// Small pieces several pages show: a mapping's link, pin and conditions in a table cell, who changed it and when.
import type { StoredEntry } from '../../broker/mappings'
import { MappingInvalid } from '../../broker/errors'
import type { Mapping } from '../../broker/mapping'
import { readableTime } from '../../cli/output'
import { consoleHref, html } from '../html'
import type { Html } from '../html'

export const mappingHref = (scope: string, role: string) => consoleHref('/console/mapping', { scope, role })

export function pinCell (m: Mapping): Html {
  return m.pin === 'none' ? html`<span class="warn">none</span>` : html`${Object.entries(m.pin).map(([k, v]) => html`<code>${k}=${v}</code>`)}`
}

export function conditionsCell (m: Mapping): Html {
  const rows = Object.entries(m.conditions).map(([claim, patterns]) => html`<div><code>${claim}</code> = <code>${patterns.join(' | ')}</code></div>`)
  const defaulted = 'ref_protected' in m.conditions ? '' : html`<div class="muted"><code>ref_protected</code> = <code>true</code> (default)</div>`
  const extra = [m.maxUses !== undefined && `maxUses ${m.maxUses}`, m.maxTokenAge !== undefined && `maxTokenAge ${m.maxTokenAge}s`].filter((x): x is string => Boolean(x))
  return html`${rows}${defaulted}${extra.map(x => html`<div class="muted">${x}</div>`)}`
}

export function updatedCell (item: Readonly<Record<string, unknown>>): string {
  const at = typeof item.updatedAt === 'string' ? readableTime(item.updatedAt, 'minute') : ''
  return [at, typeof item.updatedBy === 'string' ? `by ${item.updatedBy}` : ''].filter(Boolean).join(' ')
}

/** What a stored entry's role ARN is, valid or not (an invalid one's as stored, if a string). */
export function roleArnOf (entry: StoredEntry): string {
  if (!(entry.mapping instanceof MappingInvalid)) return entry.mapping.roleArn
  return typeof entry.item.roleArn === 'string' ? entry.item.roleArn : ''
}

export function problemsList (invalid: MappingInvalid): Html {
  return html`<ul>${invalid.problems.map(p => html`<li><code>${p.path.join('.') || '(mapping)'}</code>: ${p.message}</li>`)}</ul>`
}

/** A labelled text field (every form field has a visible label). */
export function textField (o: { name: string; label: string; value?: string; placeholder?: string; size?: number; required?: boolean; filter?: string }): Html {
  return html`<label>${o.label}<input type="text" name="${o.name}" value="${o.value ?? ''}"${o.placeholder ? html` placeholder="${o.placeholder}"` : ''} size="${o.size ?? 30}"${o.required ? html` required` : ''}${o.filter ? html` data-filter="${o.filter}"` : ''} autocomplete="off"></label>`
}

/** A labelled select; `options` as [value, text]. */
export function selectField (o: { name: string; label: string; value?: string; options: ReadonlyArray<readonly [string, string]> }): Html {
  return html`<label>${o.label}<select name="${o.name}">${o.options.map(([value, text]) => html`<option value="${value}"${value === (o.value ?? '') ? html` selected` : ''}>${text}</option>`)}</select></label>`
}
