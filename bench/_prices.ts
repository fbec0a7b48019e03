// AWS's published on-demand prices in us-east-1 that an issuance pays, as read on the date below; cost.ts multiplies
// what it measures by them. Change them here when they change (and the date with them).

export const PRICES_READ_ON = '2026-12-04'
export const REGION = 'us-east-1'

export interface Price {
  /** US dollars per `per` units. */
  readonly usd: number
  readonly per: number
  /** What one unit is. */
  readonly unit: string
}

export const PRICES = {
  lambdaRequests: { usd: 0.20, per: 1e6, unit: 'Lambda request' },
  /** arm64 is the architecture Architect deploys by default (app.arc sets none). */
  lambdaArm64: { usd: 0.0000133334, per: 1, unit: 'GB-second (arm64)' },
  lambdaX86: { usd: 0.0000166667, per: 1, unit: 'GB-second (x86_64)' },
  /** On-demand: a write of up to 1 KB is 1 unit, and each index write its own units. */
  dynamoWrites: { usd: 0.625, per: 1e6, unit: 'write request unit' },
  /** On-demand: a strongly consistent read of up to 4 KB is 1 unit, eventually consistent 0.5. */
  dynamoReads: { usd: 0.125, per: 1e6, unit: 'read request unit' },
  /** HTTP API, the first 300 million requests a month. */
  apiRequests: { usd: 1.00, per: 1e6, unit: 'HTTP API request' },
  /** Deliveries to Lambda are free. */
  snsPublishes: { usd: 0.50, per: 1e6, unit: 'SNS publish' },
  logsIngestion: { usd: 0.50, per: 1e9, unit: 'byte ingested (CloudWatch Logs)' },
  /** STS AssumeRole has no charge. */
  stsRequests: { usd: 0, per: 1, unit: 'AssumeRole' },
} as const satisfies Record<string, Price>
