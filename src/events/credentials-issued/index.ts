// @events credentials-issued: each event, once checked against its audit record, completes that record and is logged.
// Architect's subscribe unwraps SNS's envelope and parses each message; the work is issued-log.ts's.
import arc from '@architect/functions'
import { createAuditStore } from '../../broker/audit'
import { loadConfig } from '../../broker/config'
import { createDynamoClient } from '../../broker/dynamo'
import { recordIssuedEvent } from '../../broker/issued-log'
import { log } from '../../broker/log'

const config = loadConfig()
const audit = createAuditStore(createDynamoClient({ region: config.region, endpoint: config.dynamoEndpoint }), config.tables.audit)

export const handler = arc.events.subscribe(async (payload: unknown) => recordIssuedEvent(payload, audit, log))
