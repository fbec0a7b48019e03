// The credentials Lambdas' event publisher alone, bundled like a Lambda: cold-start.ts times a fresh process's first
// and second publish with it (each invocation publishes the event it is given). Never deployed.
import { loadConfig, loadEventsTarget } from '../src/broker/config'
import type { IssuedEvent } from '../src/broker/exchange'
import { createPublisher } from '../src/broker/publish'
import { createStsClient } from '../src/broker/sts'

const config = loadConfig()
// As compose.ts does: signed with the STS client's credential provider.
const publish = createPublisher(loadEventsTarget(), createStsClient({ region: config.region, endpoint: config.stsEndpoint }).config.credentials)

export async function handler (event: IssuedEvent): Promise<{ statusCode: number }> {
  await publish(event)
  return { statusCode: 200 }
}
