// Figure 6, CLI start: the wall time of whole `tanuki-sts` runs, each a fresh process as a user starts it
// (node bin/tanuki-sts.js), for --help and for `mappings validate` on the example file; `node -e 0` is the floor.
// One warm-up run first, which builds dist/cli.js if it is missing or stale (scripts/build-cli.js): the figures are
// the compiled CLI's, never a build's.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { emit, median, ms, quantile } from './_figures'

const ROOT = join(__dirname, '..')
const SAMPLES = Number(process.env.BENCH_CLI_SAMPLES || 21)
const BIN = join(ROOT, 'bin', 'tanuki-sts.js')
const COMMANDS: ReadonlyArray<{ subject: string; args: string[]; target?: number }> = [
  { subject: 'node -e 0', args: ['-e', '0'] },
  { subject: 'tanuki-sts --help', args: [BIN, '--help'], target: 150 },
  { subject: 'tanuki-sts mappings validate docs/examples/mappings.yaml', args: [BIN, 'mappings', 'validate', join(ROOT, 'docs', 'examples', 'mappings.yaml')], target: 150 },
]

/** One fresh process, start to exit, in milliseconds; a failed run fails the figure group. */
function runOnce (args: string[]): number {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  const elapsed = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-500)}`)
  return elapsed
}

function main (): void {
  for (const { args } of COMMANDS) runOnce(args)
  // Interleaved rounds, so a slow moment of the machine falls on every command alike.
  const samples = COMMANDS.map(() => [] as number[])
  for (let i = 0; i < SAMPLES; i++) COMMANDS.forEach(({ args }, c) => samples[c].push(runOnce(args)))
  COMMANDS.forEach(({ subject, target }, c) => {
    const sample = samples[c]
    emit({
      bench: 'cli_start', subject, metric: 'wall_p50_ms', value: ms(median(sample), 1), unit: 'ms', ...(target !== undefined && { target }),
      note: `${SAMPLES} fresh processes; p90 ${ms(quantile(sample, 0.9), 1)} ms, min ${ms(Math.min(...sample), 1)} ms`,
    })
  })
}

main()
