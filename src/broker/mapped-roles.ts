// The roles mapped at a project's candidate scopes: what a "no mapping" 403 offers instead (the roles the project has,
// or the one a job misspelt). Read on that denial only, never on the way to credentials. The scopes are scope.ts's.
import { QueryCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { MAX_GROUP_SEGMENTS } from './claims'
import { ROLE_NAME } from './role'

/** The role names mapped at these scopes (enabled ones), sorted. */
export type MappedRoles = (scopes: readonly string[]) => Promise<string[]>

/**
 * The read is bounded: one Query per candidate scope (a project has at most 24: its own, its group's `/*`, and `/**` at
 * each of at most 22 levels; claims.ts refuses deeper paths), all at once, each one page of at most this many keys.
 */
export const ROLES_PER_SCOPE = 25
const MAX_SCOPES = MAX_GROUP_SEGMENTS + 3

export function createMappedRoles (db: DynamoDBClient, table: string): MappedRoles {
  return async scopes => {
    const pages = await Promise.all([...new Set(scopes)].slice(0, MAX_SCOPES).map(scope => db.send(new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#s = :s',
      // Keys and `enabled` only: nothing else of a mapping is read, let alone shown.
      ProjectionExpression: '#r, #e',
      ExpressionAttributeNames: { '#s': 'scope', '#r': 'role', '#e': 'enabled' },
      ExpressionAttributeValues: { ':s': { S: scope } },
      Limit: ROLES_PER_SCOPE,
    }))))
    const roles = new Set<string>()
    for (const item of pages.flatMap(page => page.Items ?? [])) {
      const role = item.role?.S
      if (role !== undefined && ROLE_NAME.test(role) && item.enabled?.BOOL !== false) roles.add(role)
    }
    return [...roles].sort()
  }
}
