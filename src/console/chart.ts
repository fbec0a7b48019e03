// The audit chart: issued and denied credentials per day, as an SVG drawn on the server (no script, no library),
// with each bar's count in its <title> and the whole series as a table beside it for screen readers.
import { html } from './html'
import type { Html } from './html'

export interface DayCount { readonly day: string; readonly issued: number; readonly denied: number }

const DAY_MS = 86_400_000
const dayOf = (iso: string) => iso.slice(0, 10)

/** Counts per UTC day from `since` to `until`, every day present (a day with none is a zero, not a gap). */
export function dailyCounts (records: ReadonlyArray<{ readonly at: string; readonly outcome: string }>, since: Date, until: Date): DayCount[] {
  const days = new Map<string, { issued: number; denied: number }>()
  for (let t = Date.parse(dayOf(since.toISOString())); t <= until.getTime(); t += DAY_MS) days.set(dayOf(new Date(t).toISOString()), { issued: 0, denied: 0 })
  for (const r of records) {
    const count = days.get(dayOf(r.at))
    if (!count) continue
    if (r.outcome === 'issued') count.issued++
    else if (r.outcome === 'denied') count.denied++
  }
  return [...days].map(([day, c]) => ({ day, ...c }))
}

const W = 760
const H = 220
const LEFT = 40
const BOTTOM = 30
const TOP = 12

export function chartSvg (days: readonly DayCount[], title: string): Html {
  const max = Math.max(1, ...days.map(d => Math.max(d.issued, d.denied)))
  const plotW = W - LEFT - 10
  const plotH = H - BOTTOM - TOP
  const slot = plotW / Math.max(1, days.length)
  const bar = Math.max(1, Math.min(14, slot / 2 - 1))
  const y = (n: number) => TOP + plotH - (n / max) * plotH
  const every = Math.ceil(days.length / 10)
  const totals = days.reduce((t, d) => ({ issued: t.issued + d.issued, denied: t.denied + d.denied }), { issued: 0, denied: 0 })
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">${title}</title>
<desc id="chart-desc">${days.length} days: ${totals.issued} issued, ${totals.denied} denied; the busiest day has ${max}.</desc>
<line class="axis" x1="${LEFT}" y1="${TOP + plotH}" x2="${W - 10}" y2="${TOP + plotH}"/>
<line class="axis" x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + plotH}"/>
<text x="${LEFT - 6}" y="${TOP + plotH}" text-anchor="end">0</text>
<text x="${LEFT - 6}" y="${TOP + 10}" text-anchor="end">${max}</text>
${days.map((d, i) => {
    const x = LEFT + i * slot + slot / 2
    return html`<rect class="issued" x="${(x - bar).toFixed(1)}" y="${y(d.issued).toFixed(1)}" width="${bar.toFixed(1)}" height="${(TOP + plotH - y(d.issued)).toFixed(1)}"><title>${d.day}: ${d.issued} issued</title></rect>
<rect class="denied" x="${x.toFixed(1)}" y="${y(d.denied).toFixed(1)}" width="${bar.toFixed(1)}" height="${(TOP + plotH - y(d.denied)).toFixed(1)}"><title>${d.day}: ${d.denied} denied</title></rect>
${i % every === 0 ? html`<text x="${x.toFixed(1)}" y="${H - 10}" text-anchor="middle">${d.day.slice(5)}</text>` : ''}`
  })}
</svg>
<figcaption class="legend"><span class="issued"></span>issued (${totals.issued}) <span class="denied"></span>denied (${totals.denied})</figcaption>
</figure>
<details><summary>The counts as a table</summary>
<table><thead><tr><th scope="col">Day (UTC)</th><th scope="col">Issued</th><th scope="col">Denied</th></tr></thead>
<tbody>${days.map(d => html`<tr><td>${d.day}</td><td>${d.issued}</td><td>${d.denied}</td></tr>`)}</tbody></table></details>`
}
