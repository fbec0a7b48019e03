// Publishes `credentials-issued` through Architect's event bus (SNS in AWS, sandbox's bus locally).
// @architect/functions is loaded on first publish, not at cold start: the route pays for it only when it issues.
import type { IssuedEvent } from './exchange'

export const ISSUED_EVENT = 'credentials-issued'

export async function publishIssued (event: IssuedEvent): Promise<void> {
  const arc = await import('@architect/functions')
  await arc.events.publish({ name: ISSUED_EVENT, payload: event })
}
