// esbuild settings for @architect/plugin-typescript (merged under its fixed entry/outfile options).
const { join } = require('node:path')
const { buildSync } = require('esbuild')

// The console's script for browsers (src/console/browser/console.ts), built here by the same esbuild and handed to the
// console Lambdas as the constant TANUKI_CONSOLE_SCRIPT (src/console/assets.ts), which they serve as a file: pages carry
// no inline script. Other Lambdas never name the constant, so their bundles do not change.
const consoleScript = buildSync({
  entryPoints: [join(__dirname, 'src', 'console', 'browser', 'console.ts')],
  bundle: true,
  write: false,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  logLevel: 'error',
}).outputFiles[0].text

module.exports = {
  target: 'node20',
  // The SDK's ES module builds (`module`), not its CommonJS ones (`main`), so unused commands and shapes are tree-shaken:
  // the credentials Lambdas load in ~112 ms instead of ~146 ms, the SDK clients alone in 65 ms instead of 117 ms
  // (bench/cold-start.ts). Packages with an `exports` map already resolve per its conditions.
  mainFields: ['module', 'main'],
  // Whitespace and syntax only: identifiers keep their names, so stack traces in the logs still name functions
  // (full minification saves nothing measurable more; keepNames to undo its renaming costs ~7 ms of load).
  minifyWhitespace: true,
  minifySyntax: true,
  // Never bundled: SDK v2 and lib-dynamodb, which @architect/functions (the event Lambda's arc.events.subscribe) requires
  // only on paths the broker never takes.
  external: ['aws-sdk', 'aws-sdk/*', '@aws-sdk/lib-dynamodb'],
  // A Lambda's credentials are always in its environment (AWS and sandbox set them), which the SDK's default chain reads
  // first; the rest of that chain (SSO, profiles, IMDS, ... ~230 KB) was compiled at every cold start for nothing:
  // -8 to -13 ms of load per Lambda (bench/cold-start.ts). The CLI and tests are not bundled and keep the full chain.
  alias: { '@aws-sdk/credential-provider-node': join(__dirname, 'src', 'broker', 'lambda-credentials.ts') },
  legalComments: 'none',
  define: { TANUKI_CONSOLE_SCRIPT: JSON.stringify(consoleScript) },
}
