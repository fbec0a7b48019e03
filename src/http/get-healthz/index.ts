// GET /healthz: for probes. Checks only that the configuration loads; imports nothing heavy (no SDK, no jose).
import { loadConfig, loadEventsTarget } from '../../broker/config'
import { VERSION } from '../../broker/version'

let problem: string | undefined
try { loadConfig(); loadEventsTarget() }
catch (err) { problem = err instanceof Error ? err.message : String(err) }

export async function handler () {
  const ok = problem === undefined
  return {
    statusCode: ok ? 200 : 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(ok ? { ok, version: VERSION } : { ok, version: VERSION, error: 'unavailable', message: `The broker is misconfigured: ${problem}` }),
  }
}
