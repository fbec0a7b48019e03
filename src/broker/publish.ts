// Publishes `credentials-issued` through Architect's event bus (SNS in AWS, sandbox's bus locally).
// @architect/functions is loaded on first publish, not at cold start: the route pays for it only when it issues.
import type { IssuedEvent } from './exchange'

export const ISSUED_EVENT = 'credentials-issued'
/**
 * SNS answers in milliseconds, and neither @architect/functions nor aws-lite bounds a request: a hanging bus would
 * hold the caller's credentials until the Lambda times out. Past this, the publish counts as failed (and is logged).
 */
export const PUBLISH_TIMEOUT_MS = 2000

export async function publishIssued (event: IssuedEvent): Promise<void> {
  // A CommonJS module whose exports object is built at run time: Node's own import() shows it only as `default`
  // (its named exports are undefined there); bundlers and TypeScript's interop set `default` too.
  const arc = (await import('@architect/functions')).default
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the event bus did not answer within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS)
  })
  try { await Promise.race([arc.events.publish({ name: ISSUED_EVENT, payload: event }), timeout]) }
  finally { clearTimeout(timer) }
}
