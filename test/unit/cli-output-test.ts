// Spec for src/cli/output.ts's printable(): what reaches a terminal holds no control character but our own colours.
import fc from 'fast-check'
import test from 'tape'
import { paint, printable, renderTable } from '../../src/cli/output'

const runs = Number(process.env.FC_RUNS ?? 300)
// eslint-disable-next-line no-control-regex -- looks for control characters on purpose
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/

test('printable: control characters are shown as \\u escapes; tab, line feed and text pass', t => {
  t.equal(printable('y\u009b2J'), 'y\\u009b2J', 'a C1 CSI (valid in a git ref)')
  t.equal(printable('\u001b]0;pwned\u0007'), '\\u001b]0;pwned\\u0007', 'an OSC window title')
  t.equal(printable('a\rb\u007f'), 'a\\u000db\\u007f', 'carriage return and DEL')
  t.equal(printable('a\tb\nc é ✓ ←'), 'a\tb\nc é ✓ ←', 'tab, line feed and printable Unicode are untouched')
  t.end()
})

test('printable: paint()\'s own colours pass; the same codes\' neighbours do not', t => {
  const p = paint(true)
  const coloured = `${p.green('ok')} ${p.bold(p.red('no'))} ${p.dim('x')} ${p.yellow('y')} ${p.cyan('z')}`
  t.equal(printable(coloured), coloured, 'every colour paint() writes')
  t.equal(printable('\u001b[8mhidden\u001b[0m'), '\\u001b[8mhidden\\u001b[0m', 'conceal and reset are not ours')
  t.equal(printable('\u001b[2Kline'), '\\u001b[2Kline', 'erase-line is not a colour')
  t.end()
})

test('printable property: no control character but line feed and tab survives, and it is idempotent', t => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), s => {
    const shown = printable(s)
    // eslint-disable-next-line no-control-regex -- strips the ESC-led colour codes printable() keeps, before looking for others
    return !CONTROL.test(shown.replace(/\x1b\[(1|2|22|31|32|33|36|39)m/g, '')) && printable(shown) === shown
  }), { numRuns: runs })
  t.pass('for any string')
  t.end()
})

test('renderTable measures a cell as it is shown: escapes widen their column', t => {
  const table = renderTable(['A', 'B'], [['x\u009by', '1'], ['xy', '2']])
  t.deepEqual(table.split('\n'), ['A         B', 'x\\u009by  1', 'xy        2'], 'columns line up')
  t.end()
})
