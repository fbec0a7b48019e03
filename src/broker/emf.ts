// CloudWatch embedded metric format (EMF): metrics as one JSON log line, which CloudWatch Logs turns into metrics (no
// agent, no API call, nothing awaited). What each Lambda measures is credentials-metrics.ts's and event-metrics.ts's.
// Spec: docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

export type Unit = 'Count' | 'Milliseconds'

/** Metrics that share dimension sets: one MetricDirective of the spec. An empty set is the metric without dimensions. */
export interface Directive {
  readonly dimensions: ReadonlyArray<readonly string[]>
  readonly metrics: ReadonlyArray<readonly [name: string, unit: Unit]>
}

/** Target members: dimension values (strings) and metric values (numbers), and any other property worth searching by. */
export type Members = Readonly<Record<string, string | number>>

export interface MetricsSettings {
  readonly enabled: boolean
  /** CloudWatch namespace: the deploy plugin sets `TanukiSts/<stack name>`, so staging and production never mix. */
  readonly namespace: string
  /** A Project dimension on Issued and Denied: one metric per project, which CloudWatch bills for; off unless an admin asks. */
  readonly perProject: boolean
}

const NAMESPACE = /^[A-Za-z0-9.\-_/#:]{1,255}$/

/**
 * BROKER_METRICS (default on), BROKER_METRICS_NAMESPACE (default TanukiSts), BROKER_METRICS_PER_PROJECT (default off).
 * A bad value turns metrics off and says why on stderr: metrics never stop the broker from answering.
 */
export function loadMetricsSettings (env: Readonly<Record<string, string | undefined>> = process.env): MetricsSettings {
  const flag = (name: string, fallback: boolean) => {
    const text = (env[name] ?? '').toLowerCase()
    if (text === '') return fallback
    if (['1', 'true', 'yes', 'on'].includes(text)) return true
    if (['0', 'false', 'no', 'off'].includes(text)) return false
    throw new TypeError(`${name} must be on or off, got "${env[name]}"`)
  }
  try {
    const namespace = env.BROKER_METRICS_NAMESPACE || 'TanukiSts'
    // CloudWatch's rule for a namespace, and AWS/ is AWS's own.
    if (!NAMESPACE.test(namespace) || namespace.startsWith('AWS/')) {
      throw new TypeError(`BROKER_METRICS_NAMESPACE "${namespace}" is not a CloudWatch namespace of your own`)
    }
    return { enabled: flag('BROKER_METRICS', true), namespace, perProject: flag('BROKER_METRICS_PER_PROJECT', false) }
  }
  catch (err) {
    console.error(JSON.stringify({ level: 'error', msg: 'metrics configuration is invalid; no metrics are written', error: (err as Error).message }))
    return { enabled: false, namespace: 'TanukiSts', perProject: false }
  }
}

/**
 * A dimension value as CloudWatch keeps it: at most 1,024 characters, not only spaces. Values here come from bounded
 * sets (roles a mapping names, rule names, STS codes); anything outside `allowed` is counted as "other", so a caller can
 * never mint new metrics (each costs money) nor carry text into a metric.
 */
export function dimensionValue (value: string | undefined, allowed = /^[\w.:@/+=-]{1,256}$/): string {
  return value !== undefined && allowed.test(value) ? value : 'other'
}

/** One EMF line: `_aws` names the metrics and their dimensions; the members hold their values, at the top level. */
export function emfLine (namespace: string, timestamp: number, directives: readonly Directive[], members: Members): string {
  for (const d of directives) {
    for (const key of [...d.dimensions.flat(), ...d.metrics.map(([name]) => name)]) {
      if (!(key in members)) throw new TypeError(`EMF: ${key} is named in a directive but has no value`)
    }
  }
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: directives.map(d => ({
        Namespace: namespace,
        Dimensions: d.dimensions,
        Metrics: d.metrics.map(([Name, Unit]) => ({ Name, Unit })),
      })),
    },
    ...members,
  })
}

/** Writes a line where the Lambda's logs go (console.log, as the broker's other lines): CloudWatch Logs reads EMF there. */
export function writeLine (line: string): void {
  console.log(line)
}

/** Whether this container has served a request yet: the first one is its cold start. */
export function coldStartTracker (): () => boolean {
  let cold = true
  return () => {
    const was = cold
    cold = false
    return was
  }
}
