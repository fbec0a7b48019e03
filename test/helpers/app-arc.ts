// app.arc as Architect reads it (@architect/inventory): the routes and tables the tests hold the code to, and build
// their local tables from. Read once per process.
import { join } from 'node:path'

export interface ArcRoute { readonly method: string; readonly path: string }
export interface ArcTable {
  readonly name: string
  readonly partitionKey: string
  readonly partitionKeyType: 'String' | 'Number'
  readonly sortKey: string | null
  readonly sortKeyType: 'String' | 'Number' | null
}
export interface ArcIndex extends ArcTable {
  readonly indexName: string
  /** Architect's reading of the block's `projection` line: ALL (the default), KEYS_ONLY, or INCLUDE these attributes. */
  readonly projectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'
  readonly projectionAttributes?: readonly string[] | null
}
export interface AppArc { readonly http: readonly ArcRoute[]; readonly tables: readonly ArcTable[]; readonly indexes: readonly ArcIndex[] }

interface Inventory { inv: { http?: ArcRoute[] | null; tables?: ArcTable[] | null; 'tables-indexes'?: ArcIndex[] | null } }
// @architect/inventory ships no types; this is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- @architect/inventory ships no types
const inventory = require('@architect/inventory') as (options: { cwd: string }) => Promise<Inventory>

let read: Promise<AppArc> | undefined
export function appArc (): Promise<AppArc> {
  read ??= inventory({ cwd: join(__dirname, '..', '..') }).then(({ inv }) => ({ http: inv.http ?? [], tables: inv.tables ?? [],
    indexes: inv['tables-indexes'] ?? [] }))
  return read
}

/** A table's key attributes, partition key first. */
export function keyNames (table: ArcTable): string[] {
  return table.sortKey ? [table.partitionKey, table.sortKey] : [table.partitionKey]
}

/** A table's key in config.ts's `tables` and the helpers' TableNames: app.arc's name in camelCase (issuer-keys: issuerKeys). */
export function tableKey (name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}
