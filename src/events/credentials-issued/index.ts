// @events credentials-issued: each event, once checked against its audit record, completes that record and is logged.
// Architect's subscribe unwraps SNS's envelope and parses each message; the work is issued-log.ts's.
import arc from '@architect/functions'
import { createAuditStore } from '../../broker/audit'
import { loadConfig } from '../../broker/config'
import { createDynamoClient } from '../../broker/dynamo'
import { createEventMetrics } from '../../broker/event-metrics'
import { recordIssuedEvent } from '../../broker/issued-log'
import { log } from '../../broker/log'

const config = loadConfig()
const audit = createAuditStore(createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint }), config.tables.audit)

const measure = createEventMetrics()

// One metrics line per invocation: the events it handled, and those its audit store refused or could not write.
export async function handler (event: unknown) {
  const metrics = measure(audit)
  let handled = 0
  try {
    await arc.events.subscribe(async (payload: unknown) => {
      await recordIssuedEvent(payload, metrics.audit, log)
      handled++
    })(event)
  }
  finally { metrics.end(handled) }
}
