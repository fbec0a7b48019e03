// GET /healthz: for probes. Checks only that the configuration loads; imports nothing heavy (no SDK, no jose).
// A bad configuration is logged (naming the variable); probes, which anyone may call, are told only that it is bad.
import { loadConfig, loadEventsTarget } from '../../broker/config'
import { MISCONFIGURED } from '../../broker/errors'
import { errorFields, log } from '../../broker/log'
import { VERSION } from '../../broker/version'

let ok = true
try { loadConfig(); loadEventsTarget() }
catch (err) {
  ok = false
  log('error', 'broker configuration is invalid', errorFields(err))
}

export async function handler () {
  return {
    statusCode: ok ? 200 : 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(ok ? { ok, version: VERSION } : { ok, version: VERSION, error: 'unavailable', message: MISCONFIGURED }),
  }
}
