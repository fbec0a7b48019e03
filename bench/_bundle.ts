// Production bundles, built as @architect/plugin-typescript builds them for deploy: its fixed options (bundle, node,
// cjs, one outfile per Lambda), merged over esbuild.config.js, with the project tsconfig and no sourcemap.
// What is measured with them is cold-start.ts's.
import { statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { BuildOptions } from 'esbuild'

export const ROOT = join(__dirname, '..')
export const OUT = join(tmpdir(), 'tanuki-sts-bench')

/** Every Lambda in app.arc, by its source directory. */
export const LAMBDAS = ['http/post-credentials', 'http/get-credentials', 'http/get-healthz', 'http/any-catchall', 'events/credentials-issued',
  'http/get-console', 'http/get-console-catchall', 'http/post-console-catchall'] as const

export interface Bundle { readonly name: string; readonly file: string; readonly bytes: number }

/** The project's esbuild settings, as the plugin reads them (a fresh copy: esbuild may not mutate ours). */
function projectOptions (): BuildOptions {
  const path = require.resolve(join(ROOT, 'esbuild.config.js'))
  delete require.cache[path]
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the esbuild config, loaded afresh from the cache-cleared path
  return { ...(require(path) as BuildOptions) }
}

export async function bundle (name: string, entry: string, overrides: BuildOptions = {}): Promise<Bundle> {
  const file = join(OUT, name, 'index.js')
  await build({
    ...projectOptions(),
    ...overrides,
    // The plugin's fixed options, applied last as it applies them.
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: file,
    tsconfig: join(ROOT, 'tsconfig.json'),
    sourcemap: false,
    logLevel: 'error',
  })
  return { name, file, bytes: statSync(file).size }
}

export function bundleLambda (lambda: string, overrides: BuildOptions = {}): Promise<Bundle> {
  return bundle(lambda, join(ROOT, 'src', lambda, 'index.ts'), overrides)
}
