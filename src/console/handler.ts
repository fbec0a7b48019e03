// The console Lambdas' handler: arc.http (its session read and write, the response shape) around the console, wired
// once per container. A bad configuration is logged at cold start, naming the variable, and every page answers 503.
import { http } from '@architect/functions'
import type { HttpRequest } from '@architect/functions/types/http'
import { randomUUID } from 'node:crypto'
import { errorFields, log } from '../broker/log'
import { createConsole } from './app'
import { consoleEnabled } from './config'
import { wireConsole } from './deps'
import type { ConsoleDeps } from './deps'
import { html } from './html'
import { messagePage } from './layout'
import { consoleRequest } from './request'
import type { ArcRequest } from './request'
import { page } from './respond'
import type { ConsoleResponse } from './respond'

type Handle = (req: ArcRequest, requestId: string) => Promise<ConsoleResponse>
/** A Lambda handler of an HTTP API route (payload 2.0). */
export type ConsoleLambda = (event: ArcRequest, context?: object) => Promise<unknown>

/** Nothing but the one answer: the console is off, or misconfigured. Architect never sees the request (no session read). */
function answerOnly (status: number, title: string, message: string): (event: ArcRequest) => Promise<ConsoleResponse> {
  const answer = page(status, messagePage(title, message), true)
  return async () => answer
}

export function consoleHandler (build: () => ConsoleDeps = wireConsole): ConsoleLambda {
  if (!consoleEnabled()) return answerOnly(404, 'No console', 'This broker has no console (its operators have not set CONSOLE_CLIENT_ID).')
  let handle: Handle
  try {
    const app = createConsole(build())
    handle = (req, requestId) => app(consoleRequest(req, requestId))
  }
  catch (err) {
    log('error', 'console configuration is invalid', errorFields(err))
    return answerOnly(503, 'Console unavailable', 'The console is misconfigured, so it is off; its operators will find the setting to fix in its logs.')
  }
  // arc.http reads the session cookie before this runs and writes `session` into Set-Cookie after.
  const lambda = http(async function consolePage (req: HttpRequest) {
    const event = req as unknown as ArcRequest
    const requestId = event.requestContext?.requestId || randomUUID()
    try { return await handle(event, requestId) }
    catch (err) {
      // consoleRequest refuses a body it cannot read; anything else was logged by the app.
      const status = err instanceof Error && 'status' in err && typeof err.status === 'number' ? err.status : 500
      if (status === 500) log('error', 'console failed', { requestId, ...errorFields(err, true) })
      return page(status,
        messagePage('Cannot do that', html`${err instanceof Error && status < 500 ? err.message : 'The console failed; the error was logged.'}`), true)
    }
  })
  return lambda as unknown as ConsoleLambda
}
