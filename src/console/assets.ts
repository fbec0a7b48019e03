// The console's two files: its stylesheet, and its script, which the app's bundler builds from browser/console.ts
// (esbuild.config.js hands it over as TANUKI_CONSOLE_SCRIPT). Pages work without the script; it only adds conveniences.

declare const TANUKI_CONSOLE_SCRIPT: string | undefined

/** Outside a bundle (tsx in tests), there is no built script: the pages still work, without its conveniences. */
export const CONSOLE_SCRIPT: string = typeof TANUKI_CONSOLE_SCRIPT === 'string' ? TANUKI_CONSOLE_SCRIPT : '/* the console script is built into the Lambda bundle */'

/** A tanuki-purple square with a T, so browsers stop asking for /favicon.ico (which only the broker's 404 answers). */
export const CONSOLE_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#5b3cc4"/>' +
  '<path d="M4 4h8v2H9v6H7V6H4z" fill="#fff"/></svg>'

export const CONSOLE_CSS = `
:root { --fg: #1b1b1f; --muted: #5b5b66; --line: #d6d6de; --bg: #fff; --soft: #f4f4f8; --accent: #5b3cc4;
  --ok: #16692f; --bad: #a3171f; --warn: #7a4d00; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
body { margin: 0; background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
header.top { display: flex; gap: 24px; align-items: center; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--soft); flex-wrap: wrap; }
.brand { font-weight: 700; }
nav a { margin-right: 16px; text-decoration: none; padding: 4px 2px; }
nav a[aria-current="page"] { font-weight: 700; border-bottom: 3px solid var(--accent); }
.who { margin-left: auto; display: flex; gap: 8px; align-items: center; }
.badge { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #e7e1fb; }
main { padding: 8px 24px 48px; max-width: 1200px; }
main:focus { outline: none; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; } h3 { font-size: 16px; }
form.inline { display: inline; margin: 0; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: flex-end; padding: 12px 16px; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
form.filters label, form.stacked label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: 2px; }
form.stacked { display: flex; flex-direction: column; gap: 14px; max-width: 900px; }
input, select, textarea, button { font: inherit; }
input, select, textarea { padding: 5px 7px; border: 1px solid #9a9aa8; border-radius: 4px; color: var(--fg); background: #fff; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; width: 100%; box-sizing: border-box; }
button { padding: 5px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: 12px 0; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
pre { background: var(--soft); padding: 10px 12px; border: 1px solid var(--line); border-radius: 4px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
.notice { padding: 10px 14px; border-left: 4px solid var(--warn); background: #fff7e6; margin: 12px 0; }
.danger { padding: 10px 14px; border-left: 4px solid var(--bad); background: #fdeeee; margin: 12px 0; }
.good { padding: 10px 14px; border-left: 4px solid var(--ok); background: #eaf7ee; margin: 12px 0; }
.message { font-size: 16px; }
ul.words li { margin: 4px 0; }
dl.record { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.record dt { color: var(--muted); } dl.record dd { margin: 0; font-family: ui-monospace, Menlo, monospace; font-size: 13px; word-break: break-all; }
.plan .add { color: var(--ok); } .plan .del { color: var(--bad); } .plan .mod { color: var(--warn); }
table.impact th, table.impact td:nth-child(-n+3) { overflow-wrap: normal; }
.chart svg { max-width: 100%; height: auto; }
.chart .issued { fill: #2f8f4e; } .chart .denied { fill: #c7423b; } .chart .axis { stroke: #9a9aa8; } .chart text { font-size: 11px; fill: var(--muted); }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
.legend .issued { background: #2f8f4e; } .legend .denied { background: #c7423b; }
ol.timeline { list-style: none; padding-left: 0; border-left: 2px solid var(--line); }
ol.timeline li { margin: 0 0 10px 0; padding-left: 14px; position: relative; }
ol.timeline li::before { content: ""; position: absolute; left: -6px; top: 6px; width: 10px; height: 10px; border-radius: 50%; background: var(--line); }
ol.timeline li.issued::before { background: #2f8f4e; } ol.timeline li.denied::before { background: #c7423b; } ol.timeline li.failed::before { background: #7a4d00; }
.hidden { display: none; }
`
