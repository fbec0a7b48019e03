// @events credentials-issued: logs each issuance (no secrets) and completes its audit record.
import { createAuditStore } from '../../broker/audit'
import { loadConfig } from '../../broker/config'
import { createDynamoClient } from '../../broker/dynamo'
import { createEventMetrics } from '../../broker/event-metrics'
import { handleIssuedEvents } from '../../broker/issued-log'
import type { SnsEvent } from '../../broker/issued-log'
import { log } from '../../broker/log'

const config = loadConfig()
const audit = createAuditStore(createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint }), config.tables.audit)

const measure = createEventMetrics()

export async function handler (event: SnsEvent) {
  const metrics = measure(audit)
  let handled = 0
  try { handled = await handleIssuedEvents(event, metrics.audit, log) }
  finally { metrics.end(handled) }
}
