// Sandbox's routing made API Gateway's: a path is case-sensitive and a trailing slash makes another path, so locally, as
// deployed, `/Credentials` and `/credentials/` match no route of app.arc and reach the catch-all (404).
// Sandbox routes with the `router` package and its defaults (case-insensitive, trailing slash ignored), and takes no option.
import { dirname } from 'node:path'

type RouterFactory = ((options?: Record<string, unknown>) => unknown) & { prototype: unknown; apiGatewayRouting?: true }

/** Sets the options of every router sandbox creates from now on; call it before sandbox is loaded. Idempotent. */
export function useApiGatewayRouting (): void {
  const path = require.resolve('router', { paths: [dirname(require.resolve('@architect/sandbox/package.json'))] })
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- sandbox's own copy of router, found by path at run time
  const Router = require(path) as RouterFactory
  if (Router.apiGatewayRouting) return
  const apiGateway = function (options?: Record<string, unknown>) {
    return Router({ ...options, caseSensitive: true, strict: true })
  } as RouterFactory
  Object.assign(apiGateway, Router, { apiGatewayRouting: true })
  apiGateway.prototype = Router.prototype
  const cached = require.cache[path]
  if (!cached) throw new Error(`router was not loaded from ${path}`)
  cached.exports = apiGateway
}
