// The catch-all and healthz answer through respond.ts, with the credentials routes' headers; the routes table is app.arc's.
import test from 'tape'
import { ROUTES } from '../../src/broker/routes'
import { handler as catchAll } from '../../src/http/any-catchall/index'
import { appArc } from '../helpers/app-arc'

const SAME_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', 'x-request-id': 'req-1', 'x-content-type-options': 'nosniff' }
const event = (method: string, rawPath: string) => ({ rawPath, requestContext: { requestId: 'req-1', http: { method } } })

test('routes: the table is app.arc\'s @http (the broker\'s routes: the console\'s are its own), each path with its methods', async t => {
  const declared: Record<string, string[]> = {}
  const console = (path: string) => path === '/console' || path.startsWith('/console/')
  for (const route of (await appArc()).http) if (route.method !== 'any' && !console(route.path)) (declared[route.path] ??= []).push(route.method.toUpperCase())
  t.deepEqual(Object.fromEntries(Object.entries(declared).map(([path, methods]) => [path, methods.sort().join(', ')])), { ...ROUTES }, 'the same paths and methods')
})

test('catch-all: another method on a route is 405 naming the methods in Allow', async t => {
  const r = await catchAll(event('PUT', '/credentials'))
  t.equal(r.statusCode, 405, '405')
  t.deepEqual(r.headers, { ...SAME_HEADERS, allow: 'GET, POST' }, 'the credentials routes\' headers, and Allow')
  t.equal(r.body, '{"error":"method_not_allowed","message":"/credentials does not take PUT; use GET, POST.","requestId":"req-1"}', 'the contract\'s body')
  t.equal((await catchAll(event('POST', '/healthz'))).headers.allow, 'GET', 'healthz takes GET only')
})

test('catch-all: any other path is 404, whatever it is named', async t => {
  for (const path of ['/admin', '/Credentials', 'constructor', '__proto__']) {
    const r = await catchAll(event('GET', path))
    t.equal(r.statusCode, 404, `${path}: 404`)
    t.deepEqual(r.headers, SAME_HEADERS, `${path}: the same headers, no Allow`)
    t.deepEqual(JSON.parse(r.body), { error: 'not_found', message: 'Not found. The broker answers POST /credentials, GET /credentials and GET /healthz.', requestId: 'req-1' },
      `${path}: not_found`)
  }
})
