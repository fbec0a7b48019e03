// moto server on loopback, with the project's extension (test/moto/tanuki_moto.py): the AWS that `arc deploy` deploys
// to in the pipeline test. Runs from .venv/moto (bash scripts/python-venvs.sh); started and stopped by the test.
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../../src/local/stack'

const PYTHON = join(ROOT, '.venv', 'moto', 'bin', 'python')

export interface Moto {
  /** http://127.0.0.1:PORT: an IP, so aws-lite's S3 client addresses buckets path-style (no bucket.localhost hosts). */
  readonly url: string
  /** What the stack holds, read back through the AWS APIs (test/moto/describe_stack.py). */
  describe (stackName: string, region?: string): Promise<DeployedStack>
  /** moto's own log (one line per request), for a failure's message. */
  log (): string
  stop (): Promise<void>
}

/** describe_stack.py's JSON. */
export interface DeployedStack {
  name: string
  status: string
  /** The template as `arc deploy` sent it. */
  template: { Description?: string; Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }
  resources: Record<string, string>
  roles: Record<string, { name: string; arn: string; boundary: string | null; policies: Record<string, PolicyDocument> }>
  tables: Record<string, {
    name: string
    keys: Array<{ AttributeName: string; KeyType: string }>
    indexes: Record<string, Array<{ AttributeName: string; KeyType: string }>>
    projections: Record<string, { ProjectionType: string; NonKeyAttributes?: string[] }>
    ttl: { TimeToLiveStatus: string; AttributeName?: string }
    pitr: string
    deletionProtection: boolean
    items: Array<Record<string, unknown>>
  }>
  functions: Record<string, { name: string; runtime: string; role: string; loggingConfig: { LogGroup?: string } | null; environment: Record<string, string> }>
  topics: Record<string, { arn: string; subscriptions: Array<{ protocol: string; endpoint: string }> }>
  apis: Record<string, {
    id: string
    routes: Record<string, string>
    stages: Record<string, { defaultRouteSettings: Record<string, unknown> | null; accessLogSettings: { DestinationArn: string; Format: string } | null }>
  }>
  logGroups: Record<string, { name: string; arn: string; retentionInDays: number | null } | null>
  /** DescribeAlarms' fields (all but the alarm's state), by logical id. */
  alarms: Record<string, DeployedAlarm>
  /** The dashboard's body parsed, by logical id. */
  dashboards: Record<string, { name: string; arn: string; body: { widgets: Array<{ type: string; properties: Record<string, unknown> }> } }>
  parameters: Record<string, string>
}

export interface MetricQuery {
  Id: string
  Label?: string
  Expression?: string
  ReturnData?: boolean
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: Dimension[] }; Period: number; Stat: string }
}
export interface Dimension { Name: string; Value: string }
export interface DeployedAlarm {
  AlarmName: string
  AlarmArn: string
  AlarmDescription?: string
  AlarmActions: string[]
  OKActions: string[]
  InsufficientDataActions: string[]
  Namespace?: string
  MetricName?: string
  Dimensions: Dimension[]
  Statistic?: string
  Period?: number
  /** Metric math; moto lists none ([]) for an alarm on one metric. */
  Metrics: MetricQuery[]
  Threshold: number
  ComparisonOperator: string
  EvaluationPeriods: number
  DatapointsToAlarm?: number
  TreatMissingData?: string
}

export interface PolicyDocument {
  Version?: string
  Statement: Array<{ Sid?: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string,
    Record<string, string | string[]>> }>
}

export async function startMoto (port: number): Promise<Moto> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run bash scripts/python-venvs.sh (docs/deploy-checks.md)`)
  const url = `http://127.0.0.1:${port}`
  let output = ''
  const child: ChildProcess = spawn(PYTHON, [join(ROOT, 'test', 'moto', 'tanuki_moto.py'), '-H', '127.0.0.1', '-p', String(port)], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' },
  })
  child.stdout?.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { output += c.toString() })
  const exited = new Promise<void>(resolve => child.on('exit', () => resolve()))
  // Ready once moto answers its own API; bounded, so a server that cannot start fails the test with its output.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`moto server exited (${child.exitCode}):\n${output}`)
    try {
      if ((await fetch(`${url}/moto-api/`)).ok) break
    }
    catch { /* not listening yet */ }
    if (i >= 300) {
      child.kill()
      throw new Error(`moto server did not answer at ${url} within 30 s:\n${output}`)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return {
    url,
    async describe (stackName, region = 'us-east-1') {
      const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, 'test', 'moto', 'describe_stack.py'), url, region, stackName],
        { env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' }, maxBuffer: 16 * 1024 * 1024 })
      return JSON.parse(stdout) as DeployedStack
    },
    log: () => output,
    async stop () {
      if (child.exitCode === null) child.kill()
      await exited
    },
  }
}
