// Explain: paste an ID token (verified by the broker's own verifier) or claims for a hypothetical job, and see the
// decision for a role condition by condition, with the broker's own 403 words (the CLI's explanation.ts builds it).
// A pasted token is read from this POST only: never stored, logged, put in a URL or shown back.
import { countUses } from '../../broker/audit'
import { parseGitLabClaims } from '../../broker/claims'
import type { GitLabClaims } from '../../broker/claims'
import { BrokerError, InvalidToken, PayloadTooLarge } from '../../broker/errors'
import { ROLE_NAME } from '../../broker/role'
import { denialText, valueText } from '../../cli/explain-report'
import { buildExplanation } from '../../cli/explanation'
import type { Explanation } from '../../cli/explanation'
import type { PageContext } from '../app'
import { html } from '../html'
import type { Html } from '../html'
import { layout } from '../layout'
import { MAX_BODY_BYTES, field } from '../request'
import { page } from '../respond'
import type { ConsoleResponse } from '../respond'
import { mappingHref } from './common'

const MAX_CLAIMS = 64 * 1024
const EXAMPLE_CLAIMS = (issuer: string) => JSON.stringify({
  iss: issuer, project_path: 'acme/payments/api', project_id: '4301877', namespace_path: 'acme/payments', namespace_id: '72815',
  ref: 'main', ref_type: 'branch', ref_protected: 'true', pipeline_id: '1', job_id: '1', jti: 'example', sub: 'project_path:acme/payments/api:ref_type:branch:ref:main',
  environment: 'production',
}, null, 2)

function explainForm (ctx: PageContext, values: { role?: string; claims?: string }): Html {
  return html`<div class="danger" id="live-credential"><strong>An ID token is a live credential.</strong> Until it expires, anyone holding it can get
that job's AWS credentials. Paste one only here: it goes only to this page's explain endpoint, is verified as the broker verifies it, and is never
stored, logged or shown back. Where you can, paste the token's claims (its payload) instead.</div>
<form method="post" action="/console/explain" class="stacked" autocomplete="off">
<input type="hidden" name="csrf" value="${ctx.session.csrf}">
<label for="role">Role the job asks for<input id="role" name="role" type="text" required size="30" value="${values.role ?? ''}" autocomplete="off"></label>
<fieldset><legend>What the job presents: one of</legend>
<label for="token">ID token (a JWT, verified as the broker verifies it)</label>
<textarea id="token" name="token" rows="4" data-secret spellcheck="false" autocomplete="off" aria-describedby="live-credential"></textarea>
<label for="claims">or claims of a job, as JSON (taken as given, not verified)</label>
<textarea id="claims" name="claims" rows="12" spellcheck="false">${values.claims ?? EXAMPLE_CLAIMS(ctx.deps.config.issuer)}</textarea>
</fieldset>
<div><button type="submit">Explain</button></div>
</form>`
}

export async function explainPage (ctx: PageContext): Promise<ConsoleResponse> {
  const body = html`<p>Which mapping decides a role for a job, and why: every rule, in the words of the broker's answer. Nothing is issued or written.</p>
${explainForm(ctx, {})}`
  return page(200, layout({ title: 'Explain a decision', section: 'explain', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}

/** The broker's answer to a token (or claims) it does not accept, before any mapping: its 401 (or 413) words. */
function refusal (err: BrokerError, fromToken: boolean): Html {
  const hint = fromToken && /expired/.test(err.message) ? ' Its claims still say what the mappings decide: paste its payload as claims instead.' : ''
  return html`<div class="danger" role="alert"><p><strong>The broker would refuse this ${fromToken ? 'token' : 'claim set'}</strong> (${err.status} ${err.code}) before looking at any mapping:</p><p>${err.message}${hint}</p></div>`
}

function checksTable (candidate: Extract<Explanation['candidates'][number], { status: 'mapping' }>): Html {
  return html`<table><thead><tr><th scope="col">Rule</th><th scope="col"></th><th scope="col">Expected</th><th scope="col">This job has</th></tr></thead>
<tbody>${candidate.checks.map(k => html`<tr><td><code>${k.condition}</code>${k.condition === 'ref_protected' && !('ref_protected' in candidate.mapping.conditions) ? html` <span class="muted">(default)</span>` : ''}</td>
<td>${k.ok ? html`<span class="ok" aria-label="holds">✓</span>` : html`<span class="bad" aria-label="fails">✗</span>`}</td><td class="mono">${valueText(k.expected)}</td><td class="mono">${valueText(k.actual)}</td></tr>`)}</tbody></table>`
}

function explanationBlock (e: Explanation): Html {
  const c = e.claims
  const verdict = e.verdict
  return html`<section aria-labelledby="result"><h2 id="result">Verdict for the role "${e.role}"</h2>
${verdict.allow
    ? html`<p class="good" role="status"><strong>ALLOWED (200)</strong> by <a href="${mappingHref(verdict.scope ?? '', e.role)}">${verdict.scope ?? ''}</a>.</p>`
    : html`<div class="danger" role="status"><p><strong>DENIED (${verdict.status} ${verdict.code ?? ''})</strong>${verdict.denial ? html`: ${denialText(verdict.denial)}` : ''}.</p>
<p>The broker's answer would say: <q>${verdict.message ?? ''}</q></p></div>`}
${e.maxUses ? html`<p>maxUses: ${e.maxUses.note}.</p>` : ''}
<p class="muted">${c.verified ? 'Token verified (signature, issuer, audience, time)' : 'Claims taken as given, not verified'}: issuer <code>${String(c.iss)}</code>,
project <code>${String(c.project_path)}</code> (id ${String(c.project_id)}), ref <code>${String(c.ref)}</code> (${c.ref_protected === 'true' ? 'protected' : 'not protected'}).</p>
<h3>Candidate scopes, most specific first</h3>
<ol>${e.candidates.map(cand => html`<li><code>${cand.scope}</code> ${cand.status === 'none'
    ? html`<span class="muted">(no mapping)</span>`
    : html`${cand.decides ? html`<strong>← decides</strong>` : html`<span class="muted">(not consulted: a more specific scope decides)</span>`}
${cand.status === 'invalid' ? html`<p class="bad">Invalid mapping, grants nothing:</p><ul>${cand.problems.map(p => html`<li>${p.path ? html`<code>${p.path}</code>: ` : ''}${p.message}</li>`)}</ul>` : checksTable(cand)}`}</li>`)}</ol>
${e.mappedElsewhere ? html`<p>${e.mappedElsewhere.length === 0 ? html`The role "${e.role}" is not mapped anywhere.` : html`The role "${e.role}" is mapped only at scopes that do not cover this project:`}</p>
<ul>${e.mappedElsewhere.map(s => html`<li><a href="${mappingHref(s, e.role)}">${s}</a></li>`)}</ul>` : ''}
<p class="muted">Nothing was issued or written.</p></section>`
}

async function readJob (ctx: PageContext, token: string | undefined, claimsText: string | undefined): Promise<{ claims: GitLabClaims; sha256?: string } | BrokerError> {
  try {
    if (token !== undefined) {
      const verified = await ctx.deps.verifyToken(token.trim().replace(/^Bearer\s+/i, ''), ctx.now)
      return { claims: verified.claims, sha256: verified.sha256 }
    }
    let raw: unknown
    try { raw = JSON.parse(claimsText ?? '') }
    catch { return new InvalidToken('The claims are not JSON: paste a JSON object of claims, such as a token\'s decoded payload.', { reason: 'malformed' }) }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return new InvalidToken('The claims must be a JSON object.', { reason: 'malformed' })
    return { claims: parseGitLabClaims(raw as Record<string, unknown>) }
  }
  catch (err) {
    if (err instanceof InvalidToken || err instanceof PayloadTooLarge) return err
    throw err
  }
}

export async function explainPost (ctx: PageContext): Promise<ConsoleResponse> {
  const form = ctx.req.form
  const role = field(form, 'role', 64)
  // Any length up to the form's: past MAX_TOKEN_BYTES, the broker's verifier answers 413 as the broker would.
  const tokenText = field(form, 'token', MAX_BODY_BYTES)
  const token = tokenText?.trim() ? tokenText : undefined
  const claimsText = token === undefined ? field(form, 'claims', MAX_CLAIMS) : undefined
  let result: Html
  if (!role || !ROLE_NAME.test(role)) result = html`<p class="danger" role="alert">Give the role the job asks for (1 to 64 letters, digits or _.@+=-, starting with a letter or digit).</p>`
  else if (token === undefined && claimsText === undefined) result = html`<p class="danger" role="alert">Paste an ID token, or a job's claims as JSON.</p>`
  else {
    const job = await readJob(ctx, token, claimsText)
    if (job instanceof BrokerError) result = refusal(job, token !== undefined)
    else {
      const { deps } = ctx
      result = explanationBlock(await buildExplanation({ claims: job.claims, sha256: job.sha256, role, target: 'this broker', now: ctx.now }, {
        find: (scopes, r) => deps.mappings.find(scopes, r),
        countUses: (hash, scope, r) => countUses(deps.db, deps.tables.audit, hash, scope, r),
        mappedScopes: async r => (await deps.admin.list()).filter(e => e.role === r).map(e => e.scope),
        projectRoles: scopes => deps.mappedRoles(scopes),
      }))
    }
  }
  // The form comes back with the role and claims, never the token.
  const body = html`${result}<h2>Explain another</h2>${explainForm(ctx, { role, ...(claimsText !== undefined && { claims: claimsText }) })}`
  return page(200, layout({ title: 'Explain a decision', section: 'explain', viewer: ctx.viewer, body }), ctx.deps.config.deployed)
}
