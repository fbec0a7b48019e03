// Figure 6, CLI start: the wall time of whole `tanuki-sts` runs, each a fresh process as a user starts it
// (node bin/tanuki-sts.js), for --help and for `mappings validate` on the example file; `node -e 0` is the floor. With
// each, the runs' mean CPU time: on a machine busy with other work, wall times grow and CPU times do not.
// One warm-up run first, which builds dist/cli.js if it is missing or stale (scripts/build-cli.js): the figures are
// the compiled CLI's, never a build's.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { emit, median, ms, quantile } from './_figures'

const ROOT = join(__dirname, '..')
const SAMPLES = Number(process.env.BENCH_CLI_SAMPLES || 21)
const BIN = join(ROOT, 'bin', 'tanuki-sts.js')
const COMMANDS: ReadonlyArray<{ subject: string; args: string[]; target?: number }> = [
  { subject: 'node -e 0', args: ['-e', '0'] },
  { subject: 'tanuki-sts --help', args: [BIN, '--help'], target: 150 },
  { subject: 'tanuki-sts mappings validate docs/examples/mappings.yaml', args: [BIN, 'mappings', 'validate', join(ROOT, 'docs', 'examples', 'mappings.yaml')],
    target: 150 },
]

/**
 * The CPU time of this process's finished children, in ms (Linux: /proc/self/stat cutime + cstime, in 1/100 s ticks);
 * undefined elsewhere. Unlike wall time, other work on a busy machine does not add to it.
 */
function childrenCpuMs (): number | undefined {
  let stat: string
  try { stat = readFileSync('/proc/self/stat', 'utf8') }
  catch { return undefined }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[13]) + Number(fields[14])) * 10
}

/** One fresh process, start to exit: its wall time and CPU time in ms; a failed run fails the figure group. */
function runOnce (args: string[]): { wall: number; cpu?: number } {
  const cpu0 = childrenCpuMs()
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  const wall = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(-500)}`)
  const cpu1 = childrenCpuMs()
  return { wall, ...(cpu0 !== undefined && cpu1 !== undefined && { cpu: cpu1 - cpu0 }) }
}

function main (): void {
  for (const { args } of COMMANDS) runOnce(args)
  // Interleaved rounds, so a slow moment of the machine falls on every command alike.
  const runs = COMMANDS.map(() => [] as Array<{ wall: number; cpu?: number }>)
  for (let i = 0; i < SAMPLES; i++) COMMANDS.forEach(({ args }, c) => runs[c].push(runOnce(args)))
  COMMANDS.forEach(({ subject, target }, c) => {
    const wall = runs[c].map(r => r.wall)
    emit({
      bench: 'cli_start', subject, metric: 'wall_p50_ms', value: ms(median(wall), 1), unit: 'ms', ...(target !== undefined && { target }),
      note: `${SAMPLES} fresh processes; p90 ${ms(quantile(wall, 0.9), 1)} ms, min ${ms(Math.min(...wall), 1)} ms`,
    })
    const cpu = runs[c].flatMap(r => r.cpu ?? [])
    if (cpu.length === SAMPLES) {
      emit({
        bench: 'cli_start', subject, metric: 'cpu_mean_ms', value: ms(cpu.reduce((a, b) => a + b, 0) / SAMPLES, 1), unit: 'ms',
        note: 'user + system CPU of the same runs, which a busy machine does not inflate (counted in 10 ms ticks: the mean only)',
      })
    }
  })
}

main()
