// Figure 3, round trips per issuance: DynamoDB and STS requests counted by SDK middleware on the broker's own clients
// (every attempt, retries included), issuer fetches counted by the local issuer, event publishes by a local sink.
import { randomUUID } from 'node:crypto'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import { emit } from './_figures'
import { RoundTrips, postEvent, projectMapping, startEventSink, startWorld } from './_local'

const ISSUANCES = 20

async function main (): Promise<void> {
  const world = await startWorld()
  const sink = await startEventSink()
  // The real publisher: composeBroker points it at sandbox's event bus (ARC_SANDBOX ports.events), here a local sink.
  const trips = new RoundTrips()
  const handler = createCredentialsHandler('POST', () => composeBroker(world.env, { instrument: trips.instrument }).exchange)
  const mint = (i: number) => world.issuer.mint({ jti: randomUUID(), job_id: String(9100000000 + i) })

  // Cold: the container's first request fetches discovery and keys once.
  await world.putMapping(projectMapping(world.issuer.url, { role: 'warmup' }))
  await handler(postEvent(await mint(0), 'role=warmup', randomUUID()))
  const coldFetches = { ...world.issuer.stats }

  const paths: Array<[string, Record<string, unknown>, number, number]> = [
    // [path, mapping fields, DynamoDB target, STS target]
    ['no_max_uses', {}, 2, 1],
    ['max_uses_1', { maxUses: 1 }, 2, 1],
    ['max_uses_5', { maxUses: 5 }, 3, 1],
  ]
  for (const [path, extra, dynamoTarget, stsTarget] of paths) {
    const role = path.replace(/_/g, '-')
    await world.putMapping(projectMapping(world.issuer.url, { role, ...extra }))
    trips.reset()
    const before = { jwks: world.issuer.stats.jwks, discovery: world.issuer.stats.discovery, events: sink.received }
    let errors = 0
    for (let i = 0; i < ISSUANCES; i++) {
      // A fresh token each time: with maxUses 5 it is this token's first use (the count finds no slot taken).
      const result = await handler(postEvent(await mint(i + 1), `role=${role}`, randomUUID()))
      if (result.statusCode !== 200) errors++
    }
    const per = (n: number) => n / ISSUANCES
    const ops = [...trips.counts].filter(([k]) => !k.endsWith('.any')).map(([k, v]) => `${k} ${per(v)}`).join(', ')
    emit({ bench: 'round_trips', subject: path, metric: 'dynamodb_per_issuance', value: per(trips.get('DynamoDB')), target: dynamoTarget, note: ops })
    emit({ bench: 'round_trips', subject: path, metric: 'sts_per_issuance', value: per(trips.get('STS')), target: stsTarget })
    emit({ bench: 'round_trips', subject: path, metric: 'jwks_fetches_warm', value: world.issuer.stats.jwks - before.jwks, target: 0 })
    emit({ bench: 'round_trips', subject: path, metric: 'discovery_fetches_warm', value: world.issuer.stats.discovery - before.discovery, target: 0 })
    emit({ bench: 'round_trips', subject: path, metric: 'event_publishes_per_issuance', value: per(sink.received - before.events),
      note: 'on the request path (awaited); the event Lambda\'s UpdateItem (AccessKeyId) runs after the response, off the request path' })
    emit({ bench: 'round_trips', subject: path, metric: 'errors', value: errors, target: 0 })
  }

  // A second use of one maxUses-5 token: the count now finds the first slot taken, and the put takes the next.
  const token = await mint(99)
  await handler(postEvent(token, 'role=max-uses-5', randomUUID()))
  trips.reset()
  await handler(postEvent(token, 'role=max-uses-5', randomUUID()))
  emit({ bench: 'round_trips', subject: 'max_uses_5_second_use', metric: 'dynamodb_per_issuance', value: trips.get('DynamoDB'), target: 3 })

  emit({ bench: 'round_trips', subject: 'cold_container', metric: 'issuer_fetches_first_request', value: `discovery ${coldFetches.discovery}, jwks ${coldFetches.jwks}` })
  await sink.close()
  await world.stop()
}

main().catch(err => { console.error(err); process.exit(1) })
