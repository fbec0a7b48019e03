// The POST handler as the Lambdas compose it (the real config, token verifier, stores, policy, exchange and response
// code), with in-memory stand-ins for the DynamoDB and STS clients: what the broker's own code costs and keeps, with no
// I/O or local servers around it. Used by issuance.ts and load.ts.
import { BatchGetItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { composeBroker } from '../src/broker/compose'
import { loadConfig } from '../src/broker/config'
import { createCredentialsHandler } from '../src/broker/http'
import type { StsPort } from '../src/broker/sts'

/**
 * A DynamoDB client whose mappings table holds one item, answering every BatchGetItem with it; the issuer-keys table
 * starts empty (the verifier then fetches the keys once and keeps them, as a warm container does), and every PutItem
 * is taken.
 */
function inMemoryDb (mappingsTable: string, mapping: Record<string, unknown>): DynamoDBClient {
  const item = marshall(mapping)
  const send = async (command: unknown) => {
    if (command instanceof BatchGetItemCommand) {
      const found = mappingsTable in (command.input.RequestItems ?? {}) ? [item] : []
      return { Responses: { [mappingsTable]: found }, UnprocessedKeys: {} }
    }
    if (command instanceof GetItemCommand) return {}
    if (command instanceof PutItemCommand) return {}
    throw new Error(`not on the issuance path: ${(command as object).constructor.name}`)
  }
  return { send } as unknown as DynamoDBClient
}

const inMemorySts: StsPort = {
  assumeRole: async input => ({
    accessKeyId: 'ASIAINMEMORYBENCH000', secretAccessKey: 'in-memory', sessionToken: 'in-memory',
    expiration: new Date(Date.now() + input.durationSeconds * 1000), assumedRoleArn: `${input.roleArn}/${input.sessionName}`,
  }),
}

export function inMemoryHandler (env: Record<string, string>, mapping: Record<string, unknown>): ReturnType<typeof createCredentialsHandler> {
  const db = inMemoryDb(loadConfig(env).tables.mappings, mapping)
  return createCredentialsHandler('POST', () => composeBroker(env, { db, sts: inMemorySts, publish: async () => {} }).exchange)
}
