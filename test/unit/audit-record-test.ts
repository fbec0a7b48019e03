// refuseOwn: records are extended as { sk, ...record } (the fast order), so a record may not hold a key set beside it.
import test from 'tape'
import { refuseOwn } from '../../src/broker/audit'

test('refuseOwn: a record without the keys passes', t => {
  t.doesNotThrow(() => refuseOwn({ pk: 'token#a', outcome: 'issued' }, 'sk', 'use'), 'no sk, no use')
  t.end()
})

test('refuseOwn: a record that already holds a key set beside it is refused, never allowed to replace it', t => {
  // A use slot's key decides maxUses: a record carrying its own sk or use must not pick the slot.
  t.throws(() => refuseOwn({ pk: 'token#a', sk: 'use#s#deploy#1' }, 'sk', 'use'), /already holds "sk"/, 'its own sk')
  t.throws(() => refuseOwn({ pk: 'token#a', use: 1 }, 'sk', 'use'), /already holds "use"/, 'its own use')
  t.throws(() => refuseOwn({ accessKeyId: undefined }, 'accessKeyId'), /already holds "accessKeyId"/, 'even one set to undefined')
  t.end()
})
