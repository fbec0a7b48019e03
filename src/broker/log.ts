// Structured logs: one JSON object per line, to stdout (CloudWatch in AWS, the terminal in sandbox).
// Callers pass only safe fields: never a token, secret access key or session token.

export type Level = 'info' | 'warn' | 'error'
export type Fields = Record<string, unknown>
export type Logger = (level: Level, msg: string, fields?: Fields) => void

export const log: Logger = (level, msg, fields = {}) => {
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...fields })
  if (level === 'error') console.error(line)
  else console.log(line)
}

/** An error as log fields: name, message, code, and the stack only for unexpected ones. */
export function errorFields (err: unknown, withStack = false): Fields {
  if (!(err instanceof Error)) return { error: String(err) }
  const cause = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : undefined
  return {
    error: err.name,
    message: err.message,
    ...('detail' in err && err.detail !== undefined && { detail: err.detail }),
    ...(cause && { cause }),
    ...(withStack && { stack: err.stack }),
  }
}
