// closestName and didYouMean: the suggestion a misspelt field or claim name gets, and when it gets none.
import test from 'tape'
import { KNOWN_CLAIMS } from '../../src/broker/claims'
import { closestName, didYouMean } from '../../src/broker/did-you-mean'
import { MAPPING_FIELDS } from '../../src/broker/mapping-fields'

test('closestName: the typos people make in mapping files', t => {
  const cases: Array<[string, readonly string[], string | undefined]> = [
    ['reff', KNOWN_CLAIMS, 'ref'],
    ['refprotected', KNOWN_CLAIMS, 'ref_protected'],
    ['Ref_type', KNOWN_CLAIMS, 'ref_type'],
    ['enviroment', KNOWN_CLAIMS, 'environment'],
    ['envrionment', KNOWN_CLAIMS, 'environment'],
    ['rolearn', MAPPING_FIELDS, 'roleArn'],
    ['role_arn', MAPPING_FIELDS, 'roleArn'],
    ['condition', MAPPING_FIELDS, 'conditions'],
    ['max-duration', MAPPING_FIELDS, 'maxDuration'],
    ['project', KNOWN_CLAIMS, undefined],
    ['branch', KNOWN_CLAIMS, undefined],
    ['x', MAPPING_FIELDS, undefined],
    // Role names are short: a swap of two letters is one slip, not the two edits Levenshtein counts.
    ['deplyo', ['deploy', 'read-only'], 'deploy'],
    ['edploy', ['deploy', 'read-only'], 'deploy'],
    ['Deploy', ['deploy', 'read-only'], 'deploy'],
    ['dpeloy', ['deploy', 'depot'], 'deploy'],
    ['reda', ['read', 'ready'], 'read'],
    ['admin', ['deploy', 'read-only'], undefined],
  ]
  for (const [name, known, want] of cases) t.equal(closestName(name, known), want, `${name} -> ${want ?? 'no suggestion'}`)
  t.end()
})

test('didYouMean: a message tail, or nothing', t => {
  t.equal(didYouMean('reff', KNOWN_CLAIMS), '; did you mean "ref"?', 'a close name is suggested')
  t.equal(didYouMean('project', KNOWN_CLAIMS), '', 'an ambiguous or far one is not')
  t.end()
})
