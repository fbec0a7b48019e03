// What a Lambda's invocation puts into CloudWatch Logs: the lines its code prints, as the Node.js runtime's text log
// format (Architect's default: no LoggingConfig format) writes them, and the runtime's own START, END and REPORT lines.
// Formats as the Lambda Developer Guide shows them ("Node.js Lambda function logging"); cost.ts counts the bytes.

export interface Printed { readonly level: 'INFO' | 'ERROR'; readonly text: string }

/** Every console.log and console.error line until stop(), kept instead of printed. */
export function captureConsole (): { readonly lines: Printed[]; stop (): Printed[] } {
  const lines: Printed[] = []
  const { log, error } = console
  console.log = (...args: unknown[]) => void lines.push({ level: 'INFO', text: args.map(String).join(' ') })
  console.error = (...args: unknown[]) => void lines.push({ level: 'ERROR', text: args.map(String).join(' ') })
  return {
    lines,
    stop () {
      console.log = log
      console.error = error
      return lines
    },
  }
}

/**
 * CloudWatch Logs counts each event's message in UTF-8 plus 26 bytes (PutLogEvents' batch size rule); taken here as what
 * ingestion bills, an upper bound if it bills the message alone.
 */
export const EVENT_OVERHEAD_BYTES = 26

export interface Invocation {
  readonly requestId: string
  readonly printed: readonly Printed[]
  readonly durationMs: number
  readonly memoryMb: number
  readonly maxMemoryUsedMb: number
  /** A cold start's REPORT line says how long init took. */
  readonly initMs?: number
}

/** The log events of one invocation, as CloudWatch receives them. */
export function logEvents (i: Invocation, at = new Date()): string[] {
  const id = i.requestId
  return [
    `START RequestId: ${id} Version: $LATEST`,
    ...i.printed.map(p => `${at.toISOString()}\t${id}\t${p.level}\t${p.text}`),
    `END RequestId: ${id}`,
    `REPORT RequestId: ${id}\tDuration: ${i.durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(i.durationMs)} ms\tMemory Size: ${i.memoryMb} MB\t` +
      `Max Memory Used: ${Math.round(i.maxMemoryUsedMb)} MB\t${i.initMs !== undefined ? `Init Duration: ${i.initMs.toFixed(2)} ms\t` : ''}`,
  ]
}

/** Bytes ingested for these events. */
export const ingestedBytes = (events: readonly string[]): number =>
  events.reduce((n, e) => n + Buffer.byteLength(e, 'utf8') + EVENT_OVERHEAD_BYTES, 0)
