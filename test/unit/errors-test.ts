// Every failure is a class with a stable code: the same on the class and on each instance, distinct across classes,
// and for the broker's answers, the contract's status (DESIGN §2).
import test from 'tape'
import * as errors from '../../src/broker/errors'
import type { ErrorCode } from '../../src/broker/errors'

const conflict = new errors.MappingConflict('https://gitlab.example.com/acme/api', 'deploy')
const failures: errors.TanukiError[] = [
  new errors.InvalidRequest('m'), new errors.InvalidToken('m', { reason: 'malformed' }), new errors.AccessDenied('m', { condition: 'ref' }), new errors.NotFound('m'),
  new errors.MethodNotAllowed('m', 'GET'), new errors.PayloadTooLarge('m'), new errors.UpstreamError('m'), new errors.Unavailable('m'),
  new errors.InternalError('m'), new errors.MappingInvalid([{ path: ['role'], message: 'is required' }]), conflict, new errors.UsesExhausted(1),
  new errors.AuditRecordMismatch({ pk: 'token#1', sk: 'issue#1' }), new errors.FetchRefused('m'), new errors.PutFlagsInvalid(['--role: is required']),
  new errors.ApplyConflict(conflict, 0, 1), new errors.CliError('m'), new errors.KeysConflict('https://gitlab.example.com'),
  new errors.KeySetInvalid(['keys: is required']),
]

test('errors: each class has one stable code, on the class and on its instances, and its own name', t => {
  const classes = Object.values(errors).filter((v): v is typeof errors.TanukiError => typeof v === 'function' && v.prototype instanceof errors.TanukiError)
  const concrete = classes.filter(c => Object.hasOwn(c, 'code') && typeof c.code === 'string')
  t.equal(failures.length, concrete.length, `all ${concrete.length} classes with a code are covered`)
  for (const e of failures) {
    const cls = e.constructor as typeof errors.TanukiError
    t.equal(e.code, cls.code, `${e.name}: instance code ${e.code} is the class's`)
    t.equal(e.name, cls.name, `${e.name}: named for its class`)
  }
  const codes: ErrorCode[] = failures.map(e => e.code)
  t.equal(new Set(codes).size, codes.length, 'no two classes share a code')
  t.end()
})

test('errors: the broker\'s answers carry the contract\'s status for their code', t => {
  const status = Object.fromEntries(failures.filter(e => e instanceof errors.BrokerError).map(e => [e.code, (e as errors.BrokerError).status]))
  t.deepEqual(status, {
    invalid_request: 400, invalid_token: 401, access_denied: 403, not_found: 404, method_not_allowed: 405,
    payload_too_large: 413, upstream_error: 502, unavailable: 503, internal_error: 500,
  }, 'one status per code')
  t.ok(errors.asBrokerError(new Error('boom')) instanceof errors.InternalError, 'anything else is answered as an internal error')
  t.end()
})
