// One cold start, in a fresh `node` process (plain JS: no tsx loader in the way). Loads a bundle, and with
// BENCH_EVENTS invokes its handler with each event in turn; prints one line `BENCH_RESULT {...}` (ms).
'use strict'
const { performance } = require('node:perf_hooks')

async function main () {
  const t0 = performance.now()
  const mod = require(process.argv[2])
  const load = performance.now() - t0
  const invokes = []
  for (const event of JSON.parse(process.env.BENCH_EVENTS || '[]')) {
    const t1 = performance.now()
    const result = await mod.handler(event)
    invokes.push({ ms: performance.now() - t1, status: result && result.statusCode })
  }
  // CPU the whole process used so far (boot, load, invocations), in ms: what the machine's other work moves least.
  const cpu = process.cpuUsage()
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify({ load, invokes, bootMs: t0, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`)
  // A Lambda would be frozen here; the bench only needs the numbers, not a clean shutdown of keep-alive sockets.
  process.exit(0)
}
main().catch(err => { console.error(err); process.exit(1) })
