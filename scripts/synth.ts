// Writes the CloudFormation (SAM) template `arc deploy` would deploy, offline: Architect's own packaging + deploy.start plugins.
// Usage: npm run synth [-- --production] [-- --out sam.json]. `arc deploy --dry-run` needs AWS credentials and network.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

// Architect's packages ship no types; these are the calls and shapes used here.
type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>; [k: string]: unknown }
type Callback<T> = (err: Error | null, result?: T) => void
/* eslint-disable @typescript-eslint/no-require-imports -- Architect's packages ship no types */
const inventory: (params: { cwd: string; env?: boolean; deployStage?: string; rawArc?: string }) => Promise<unknown> = require('@architect/inventory')
const pkg: (inv: unknown) => Template = require('@architect/package')
const patchCfn: (params: { cloudformation: Template; inventory: unknown; compat: object }, cb: Callback<Template>) => void =
  require('@architect/deploy/src/sam/patches/cfn')
const plugins: { start: (params: object, cb: Callback<Template>) => void; services: (params: object, cb: Callback<Template>) => void } =
  require('@architect/deploy/src/sam/plugins')

const call = <T>(fn: (cb: Callback<T>) => void) => new Promise<T>((resolve, reject) => fn((err, r) => err ? reject(err) : resolve(r as T)))

/** `rawArc`: this app.arc text instead of ./app.arc's (the template checks synthesise each set of @tanuki-sts options). */
export async function synth (cwd: string, production = false, rawArc?: string): Promise<Template> {
  const stage = production ? 'production' : 'staging'
  const inv = await inventory({ cwd, deployStage: stage, ...(rawArc !== undefined && { rawArc }) })
  const stackName = `TanukiSts${production ? 'Production' : 'Staging'}`
  let cloudformation = pkg(inv)
  cloudformation = await call<Template>(cb => patchCfn({ cloudformation, inventory: inv, compat: {} }, cb))
  const params = { dryRun: true, inventory: inv, stackName, stage }
  cloudformation = await call<Template>(cb => plugins.start({ ...params, cloudformation }, cb))
  cloudformation = await call<Template>(cb => plugins.services({ ...params, cloudformation }, cb))
  return cloudformation
}

if (require.main === module) {
  const args = process.argv.slice(2)
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : 'sam.json'
  synth(process.cwd(), args.includes('--production')).then(template => {
    writeFileSync(join(process.cwd(), out), JSON.stringify(template, null, 2) + '\n')
    console.log(`wrote ${out}: ${Object.keys(template.Resources).length} resources`)
  }).catch(err => {
    console.error(`synth failed: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  })
}
