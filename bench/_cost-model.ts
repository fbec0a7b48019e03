// What one issuance costs, from what cost.ts measured: each AWS charge as a line item (how many units an issuance uses,
// the unit, its price) and the total per million issuances. Pure arithmetic; the prices are _prices.ts's.
import { PRICES } from './_prices'
import type { Price } from './_prices'

/** One Lambda's share of an issuance. */
export interface LambdaUse {
  readonly name: string
  readonly memoryMb: number
  readonly architecture: 'arm64' | 'x86_64'
  /** Billed milliseconds per issuance (each invocation rounded up to a whole ms). */
  readonly billedMs: number
  /** Bytes its invocation puts into CloudWatch Logs. */
  readonly logBytes: number
}

/** Everything one issuance uses, as measured. */
export interface IssuanceUse {
  readonly apiRequests: number
  readonly lambdas: readonly LambdaUse[]
  /** Read request units, itemised (the mappings' BatchGetItem, a maxUses Query, ...). */
  readonly reads: ReadonlyArray<readonly [what: string, units: number]>
  /** Write request units, itemised (the audit put, its index entry, the event's update, ...). */
  readonly writes: ReadonlyArray<readonly [what: string, units: number]>
  readonly snsPublishes: number
  readonly stsCalls: number
}

export interface LineItem {
  readonly item: string
  /** Units per issuance. */
  readonly count: number
  readonly countUnit: string
  readonly price: Price
  /** US dollars per million issuances. */
  readonly usdPerMillion: number
}

const MILLION = 1e6
const line = (item: string, count: number, countUnit: string, price: Price): LineItem =>
  ({ item, count, countUnit, price, usdPerMillion: count * MILLION * price.usd / price.per })

/** GB-seconds of one invocation: Lambda bills memory in GB (1,024 MB) times seconds. */
export const gbSeconds = (ms: number, memoryMb: number): number => (ms / 1000) * (memoryMb / 1024)

export function lineItems (use: IssuanceUse): LineItem[] {
  const sum = (xs: ReadonlyArray<readonly [string, number]>) => xs.reduce((n, [, u]) => n + u, 0)
  const itemised = (xs: ReadonlyArray<readonly [string, number]>) => xs.map(([w, u]) => `${w} ${u}`).join(', ')
  return [
    line('API Gateway HTTP API requests', use.apiRequests, 'request', PRICES.apiRequests),
    line(`Lambda requests (${use.lambdas.map(l => l.name).join(', ')})`, use.lambdas.length, 'request', PRICES.lambdaRequests),
    ...use.lambdas.map(l => line(`Lambda duration, ${l.name}: ${l.billedMs} ms at ${l.memoryMb} MB ${l.architecture}`, gbSeconds(l.billedMs, l.memoryMb),
      'GB-second',
      l.architecture === 'arm64' ? PRICES.lambdaArm64 : PRICES.lambdaX86)),
    line(`DynamoDB reads (${itemised(use.reads)})`, sum(use.reads), 'read request unit', PRICES.dynamoReads),
    line(`DynamoDB writes (${itemised(use.writes)})`, sum(use.writes), 'write request unit', PRICES.dynamoWrites),
    line('SNS publishes (delivery to the event Lambda free)', use.snsPublishes, 'publish', PRICES.snsPublishes),
    line(`CloudWatch Logs ingestion (${use.lambdas.map(l => `${l.name} ${l.logBytes} B`).join(', ')})`, use.lambdas.reduce((n, l) => n + l.logBytes, 0), 'byte',
      PRICES.logsIngestion),
    line('STS AssumeRole', use.stsCalls, 'call', PRICES.stsRequests),
  ]
}

export const total = (items: readonly LineItem[]): number => items.reduce((n, i) => n + i.usdPerMillion, 0)

/**
 * Lambda milliseconds in AWS, modelled: the CPU time measured here, stretched to the CPU share Lambda gives this memory
 * (1 vCPU at 1,769 MB, in proportion below it), plus each round trip's wait in the region (assumed, not measured:
 * there is no AWS account here). Rounded up to a whole ms, as Lambda bills.
 */
export function modelledMs (cpuMs: number, memoryMb: number, roundTrips: Readonly<Record<string, number>>,
  latencyMs: Readonly<Record<string, number>>): number {
  const cpu = cpuMs * Math.max(1, 1769 / memoryMb)
  const waits = Object.entries(roundTrips).reduce((n, [service, count]) => n + count * (latencyMs[service] ?? 0), 0)
  return Math.ceil(cpu + waits)
}
