// `npm start`: the embedded default. Starts the local stack, seeds a demo mapping, prints a curl line that works.
// Ports: PORT (3333), TANUKI_ISSUER_PORT (4100), TANUKI_STS_PORT (4200), ARC_TABLES_PORT (5555), ARC_EVENTS_PORT (4444),
// ARC_INTERNAL_PORT (2222); all on 127.0.0.1 only. TANUKI_AWS_CLI: the AWS CLI its hint names (default: the first on PATH).
// Ctrl-C stops everything.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createDynamoClient } from '../broker/dynamo'
import { createMappingAdmin } from '../broker/mappings'
import { parseMapping } from '../broker/mapping'
import { awsCliHint } from './aws-cli'
import { ROOT, startLocalStack } from './stack'

const port = (name: string, fallback: number) => Number(process.env[name] || fallback)

async function main () {
  const started = Date.now()
  const httpPort = port('PORT', 3333)
  const tablesPort = port('ARC_TABLES_PORT', 5555)
  const audience = `http://localhost:${httpPort}`
  const stack = await startLocalStack({
    httpPort,
    tablesPort,
    eventsPort: port('ARC_EVENTS_PORT', 4444),
    internalPort: port('ARC_INTERNAL_PORT', 2222),
    issuerPort: port('TANUKI_ISSUER_PORT', 4100),
    stsPort: port('TANUKI_STS_PORT', 4200),
    audience,
    issuerKeyFile: join(ROOT, '.tanuki', 'issuer-key.json'),
  })
  const stop = async () => {
    console.log('\nstopping tanuki-sts (sandbox, local issuer, local STS)')
    await stack.stop()
    process.exit(0)
  }
  // Architect's updater exits on SIGINT before anything else runs; stop in order instead.
  for (const listener of process.listeners('SIGINT')) if (listener.name === '_arcRestoreCursor') process.off('SIGINT', listener)
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())

  const demo = parseMapping({
    scope: `${stack.issuer.url}/acme/payments/api`,
    role: 'deploy',
    roleArn: 'arn:aws:iam::111122223333:role/payments-deploy',
    pin: { project_id: '4301877' },
    conditions: { ref: 'main', ref_type: 'branch' },
    description: 'demo mapping seeded by npm start',
    updatedAt: new Date().toISOString(),
    updatedBy: 'npm start',
  })
  const db = createDynamoClient({ region: 'us-east-1', endpoint: stack.dynamoEndpoint })
  const admin = createMappingAdmin(db, stack.tables.mappings)
  const existing = await admin.get(demo.scope, demo.role)
  if (!existing) await admin.put(demo, undefined)
  db.destroy()

  mkdirSync(join(ROOT, '.tanuki'), { recursive: true })
  writeFileSync(join(ROOT, '.tanuki', 'local.json'), JSON.stringify({
    brokerUrl: stack.brokerUrl, issuerUrl: stack.issuer.url, stsUrl: stack.sts.url, audience, tablesPort,
  }, null, 2) + '\n')

  const token = await stack.issuer.mint({}, { audience, expiresIn: 3600 })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`
tanuki-sts is running (ready in ${seconds}s)
  broker        ${stack.brokerUrl}   (POST/GET /credentials, GET /healthz)
  local issuer  ${stack.issuer.url}   (iss of local tokens; mint more: npx tanuki-sts token mint)
  local STS     ${stack.sts.url}   (verifies every SigV4 signature)
  demo mapping  ${demo.scope} may use role "deploy" on branch main
  console       ${stack.console.url}   (sign in as local-admin, an editor, on the local issuer's page; local-viewer views)

Get credentials as a CI job would (the token below is a fresh ID token for acme/payments/api, valid 1 hour):

export BROKER_ID_TOKEN='${token}'
eval "$(curl -sS --fail-with-body -X POST -H "Authorization: Bearer $BROKER_ID_TOKEN" '${stack.brokerUrl}/credentials?role=deploy&format=shell')"

Then show that the local STS accepts them (GetCallerIdentity, SigV4-signed by curl):

curl -sS --aws-sigv4 'aws:amz:us-east-1:sts' --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN" ` +
    `-d 'Action=GetCallerIdentity&Version=2011-06-15' '${stack.sts.url}/'

${awsCliHint(stack.sts.url)}
Press Ctrl-C to stop.
`)
}

main().catch(err => {
  console.error(`tanuki-sts failed to start: ${err instanceof Error ? err.message : String(err)}`)
  // Our servers fail with EADDRINUSE; sandbox's say "Port N (name) is already in use" and point at prefs.arc.
  const taken = (err && typeof err === 'object' && 'code' in err && err.code === 'EADDRINUSE') || /already in use/i.test(String(err))
  if (taken) {
    console.error('A port is taken: is another `npm start` running? Move this one with the environment: PORT (3333), TANUKI_ISSUER_PORT (4100), ' +
      'TANUKI_STS_PORT (4200), ARC_TABLES_PORT (5555), ARC_EVENTS_PORT (4444), ARC_INTERNAL_PORT (2222).')
  }
  process.exit(1)
})
