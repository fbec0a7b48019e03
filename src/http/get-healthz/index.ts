// GET /healthz: for probes. Checks only that the configuration loads; imports nothing heavy (no SDK, no jose).
// A bad configuration is logged (naming the variable); probes, which anyone may call, are told only that it is bad.
import { randomUUID } from 'node:crypto'
import { loadConfig, loadEventsTarget } from '../../broker/config'
import { MISCONFIGURED, Unavailable } from '../../broker/errors'
import { errorFields, log } from '../../broker/log'
import { respondHealth } from '../../broker/respond'
import { VERSION } from '../../broker/version'

let failure: Unavailable | undefined
try { loadConfig(); loadEventsTarget() }
catch (err) {
  failure = new Unavailable(MISCONFIGURED)
  log('error', 'broker configuration is invalid', errorFields(err))
}

interface Event { requestContext?: { requestId?: string } }

export async function handler (event: Event = {}) {
  return respondHealth(VERSION, failure, event.requestContext?.requestId || randomUUID())
}
