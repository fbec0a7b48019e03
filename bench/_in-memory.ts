// The POST handler with in-memory stand-ins for DynamoDB and STS (the real config, token verifier, policy, exchange and
// response code): what the broker's own code costs and keeps, with no I/O or local servers around it. Used by load.ts.
import { marshall } from '@aws-sdk/util-dynamodb'
import type { AuditRecord } from '../src/broker/audit'
import { loadConfig } from '../src/broker/config'
import { createExchange } from '../src/broker/exchange'
import { createCredentialsHandler } from '../src/broker/http'
import { log } from '../src/broker/log'
import { parseItem } from '../src/broker/mappings'
import { createTokenVerifier } from '../src/broker/token'
import { createVerifyAndFind } from '../src/broker/verify-and-find'

export function inMemoryHandler (env: Record<string, string>, mapping: Record<string, unknown>): ReturnType<typeof createCredentialsHandler> {
  const config = loadConfig(env)
  const item = marshall(mapping)
  return createCredentialsHandler('POST', () => createExchange({
    config,
    log,
    publish: async () => {},
    // What the real stores do with the data (parse the found item, marshal the record), minus the round trips. No
    // issuer-keys table here: the verifier fetches the keys once and keeps them, as a warm container does.
    verifyAndFind: createVerifyAndFind({
      verifier: createTokenVerifier(config),
      mappings: { find: async scopes => new Map([[scopes[0], parseItem(item)]]) },
      readTogether: async () => { throw new Error('no table in memory') },
    }),
    mappedRoles: async () => [],
    audit: {
      reserveIssuance: async record => { const full = { sk: `issue#${record.at}#${record.requestId}`, ...record }; marshall(full, { removeUndefinedValues: true }); return full },
      recordDenial: async record => ({ sk: 'deny', ...record }) as AuditRecord,
      markFailed: async () => {},
      recordCredentials: async () => { throw new Error('the event Lambda\'s: never called on the request path') },
    },
    sts: {
      assumeRole: async input => ({
        accessKeyId: 'ASIAINMEMORYBENCH000', secretAccessKey: 'in-memory', sessionToken: 'in-memory',
        expiration: new Date(Date.now() + input.durationSeconds * 1000), assumedRoleArn: `${input.roleArn}/${input.sessionName}`,
      }),
    },
  }))
}
