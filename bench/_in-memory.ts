// The POST handler as the Lambdas compose it (the real config, token verifier, stores, policy, exchange and response
// code), with in-memory stand-ins for the DynamoDB and STS clients: what the broker's own code costs and keeps, with no
// I/O or local servers around it. Used by issuance.ts and load.ts.
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { marshall } from '@aws-sdk/util-dynamodb'
import { composeBroker } from '../src/broker/compose'
import { createCredentialsHandler } from '../src/broker/http'
import type { StsPort } from '../src/broker/sts'

/** A DynamoDB client whose one mapping item answers every BatchGetItem, and whose tables take every PutItem. */
function inMemoryDb (mapping: Record<string, unknown>): DynamoDBClient {
  const item = marshall(mapping)
  const send = async (command: unknown) => {
    if (command instanceof BatchGetItemCommand) {
      const table = Object.keys(command.input.RequestItems ?? {})[0]
      return { Responses: { [table]: [item] }, UnprocessedKeys: {} }
    }
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
  return createCredentialsHandler('POST', () => composeBroker(env, { db: inMemoryDb(mapping), sts: inMemorySts, publish: async () => {} }).exchange)
}
