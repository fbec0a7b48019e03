// The chrome around every console page: navigation, who is signed in, the sign-out form, a skip link for keyboards.
// The script and stylesheet are files (assets.ts); a page never carries inline script or style.
import { html } from './html'
import type { Html } from './html'

export type Section = 'mappings' | 'explain' | 'audit' | 'none'

export interface Viewer {
  readonly login: string
  readonly role?: 'viewer' | 'editor'
  readonly csrf: string
}

const NAV: ReadonlyArray<[Exclude<Section, 'none'>, string, string]> = [
  ['mappings', '/console/mappings', 'Mappings'],
  ['explain', '/console/explain', 'Explain'],
  ['audit', '/console/audit', 'Audit'],
]

export function layout (o: { title: string; section: Section; viewer?: Viewer; body: Html | Html[] }): Html {
  const v = o.viewer
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · tanuki-sts console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<link rel="icon" href="/console/assets/icon.svg" type="image/svg+xml">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<span class="brand">tanuki-sts</span>
${v?.role ? html`<nav aria-label="Console">${NAV.map(([section, href, label]) => html`<a href="${href}"${section === o.section ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>` : ''}
${v ? html`<div class="who">Signed in as <strong>${v.login}</strong>${v.role ? html` <span class="badge">${v.role}</span>` : ''}
<form method="post" action="/console/sign-out" class="inline"><input type="hidden" name="csrf" value="${v.csrf}"><button type="submit">Sign out</button></form></div>` : ''}
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
${o.body}
</main>
</body>
</html>
`
}

/** A short page: a message, and where to go from it. */
export function messagePage (title: string, message: Html | string, viewer?: Viewer, link?: { href: string; text: string }): Html {
  return layout({
    title,
    section: 'none',
    ...(viewer && { viewer }),
    body: html`<p class="message">${message}</p>${link ? html`<p><a href="${link.href}">${link.text}</a></p>` : ''}`,
  })
}
