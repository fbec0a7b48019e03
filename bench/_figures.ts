// How every benchmark reports: one JSON line per figure on stdout, and the few statistics they all use.
// What is measured, and against which target, is each bench file's.

export interface Figure {
  /** The figure group: issuance, cold_start, cold_issuance, round_trips, load, matcher, cli_start, cost. */
  readonly bench: string
  readonly metric: string
  readonly value: number | string | boolean
  /** The target, as a number (an upper bound unless `target_kind` says otherwise) or a short text. */
  readonly target?: number | string
  readonly unit?: string
  readonly note?: string
  /** Which bundle, route or path the figure is about, when a group has several. */
  readonly subject?: string
  readonly met?: boolean
  /** A cost line item (cost.ts): what is paid for, how many units an issuance uses, and the unit's price. */
  readonly item?: string
  readonly count?: number
  readonly count_unit?: string
  readonly price_usd?: number
  readonly price_per?: string
}

/** Prints one figure: `npm run bench` keeps the lines that carry `bench`, and drops the broker's own log lines. */
export function emit (figure: Figure): void {
  const met = figure.met ?? (typeof figure.value === 'number' && typeof figure.target === 'number' ? figure.value <= figure.target : undefined)
  process.stdout.write(JSON.stringify({ ...figure, ...(met !== undefined && { met }) }) + '\n')
}

/** The q-quantile (0..1) of a sample, nearest-rank. */
export function quantile (sample: readonly number[], q: number): number {
  if (sample.length === 0) return NaN
  const sorted = [...sample].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

export const median = (sample: readonly number[]): number => quantile(sample, 0.5)

/** Milliseconds, rounded to what the clock and the noise support. */
export function ms (value: number, digits = 3): number {
  return Number(value.toFixed(digits))
}

/** Elapsed milliseconds of one async call. */
export async function timed<T> (fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now()
  const value = await fn()
  return [performance.now() - t0, value]
}
