// Spec for src/cli/mapping-file.ts: mapping files parse through parseMapping, and every problem names its line and column.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { unreadable } from '../../src/cli/apply'
import { parseMappingFile, parseMappingFiles } from '../../src/cli/mapping-file'
import { formatProblem } from '../../src/cli/problems'

let example: string
const deploy = (extra = '') => `  - scope: https://gitlab.com/acme/payments/api
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/payments-deploy
    pin: { project_id: "4301877" }
${extra}`

test('Set up env', t => {
  example = readFileSync(join(__dirname, '../../docs/examples/mappings.yaml'), 'utf8')
  t.plan(1)
  t.ok(example.includes('mappings:'), 'the example mapping file is readable')
})

test('the example file is valid', t => {
  const parsed = parseMappingFile(example, 'mappings.yaml')
  t.plan(3)
  t.deepEqual(parsed.problems.map(formatProblem), [], 'it has no problems')
  t.equal(parsed.mappings.length, 3, 'it holds three mappings')
  t.deepEqual(parsed.mappings[0].mapping.conditions.environment, ['production', 'staging'], 'a list of patterns stays a list')
})

test('a typo in a claim name is reported at its own line and column', t => {
  const text = `$schema: https://example.com/mapping.schema.json
mappings:
${deploy()}  - scope: https://gitlab.com/acme/payments/*
    role: read-only
    roleArn: arn:aws:iam::111122223333:role/readonly
    pin: { namespace_id: "72815" }
  - scope: https://gitlab.com/acme/tools/cli
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/tools
    pin: { project_id: "99" }
    conditions:
      reff: main
`
  const parsed = parseMappingFile(text, 'm.yaml')
  t.plan(2)
  t.deepEqual(parsed.problems.map(formatProblem), ['m.yaml:16:7: mappings[2].conditions.reff: "reff" is not a GitLab ID-token claim; did you mean "ref"?'],
    'the one problem points at the misspelt key')
  t.equal(parsed.mappings.length, 2, 'the valid entries still parse')
})

test('every problem parseMapping finds gets a location', t => {
  const text = `mappings:
  - scope: https://gitlab.com/acme/**
    role: deploy
    roleArn: arn:aws:s3:::bucket
    pin: { project_id: "1" }
    maxDuration: 7200
    conditions:
      ref_protected: [true, maybe]
      project_id: abc
  - scope: https://gitlab.com/acme/api
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/x
    pin: { namespace_id: "5" }
`
  const problems = parseMappingFile(text, 'm.yaml').problems.map(formatProblem)
  t.plan(6)
  t.ok(problems.includes('m.yaml:4:5: mappings[0].roleArn: must be an IAM role ARN (arn:aws:iam::123456789012:role/name)'), 'a non-role ARN')
  t.ok(problems.some(p => p.startsWith('m.yaml:5:5: mappings[0].pin: must be "none" for a /** scope')), 'a /** scope without pin none')
  t.ok(problems.includes('m.yaml:6:5: mappings[0].maxDuration: must be a whole number from 900 to 3600'), 'a duration outside 900..3600')
  t.ok(problems.some(p => p.startsWith('m.yaml:8:29: mappings[0].conditions.ref_protected[1]:')), 'a pattern that never matches, by list index')
  t.ok(problems.some(p => p.startsWith('m.yaml:9:7: mappings[0].conditions.project_id: project_id is a decimal ID')), 'an ID pattern that never matches')
  t.ok(problems.includes('m.yaml:13:5: mappings[1].pin: a project scope is pinned by project_id, not namespace_id'), 'a project scope with a namespace pin')
})

test('a whole number not written as its decimal (octal, hex, exponent, leading zero) is a problem, not silently another text', t => {
  const text = `mappings:
  - scope: https://gitlab.com/acme/api
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/x
    pin: { project_id: 0x41A }
    maxUses: 1e1
    conditions:
      ref: [0o17, 010, "0o17", 42]
  - scope: https://gitlab.com/acme/web
    role: deploy
    roleArn: arn:aws:iam::111122223333:role/x
    pin: { project_id: 4301877 }
    maxDuration: !!int "3600"
`
  const { problems, mappings } = parseMappingFile(text, 'm.yaml')
  t.deepEqual(problems.map(formatProblem), [
    'm.yaml:5:12: mappings[0].pin.project_id: 0x41A is YAML for the number 1050: quote it ("0x41A") to mean it as written, or write 1050',
    'm.yaml:6:5: mappings[0].maxUses: 1e1 is YAML for the number 10: quote it ("1e1") to mean it as written, or write 10',
    'm.yaml:8:13: mappings[0].conditions.ref[0]: 0o17 is YAML for the number 15: quote it ("0o17") to mean it as written, or write 15',
    'm.yaml:8:19: mappings[0].conditions.ref[1]: 010 is YAML for the number 10: quote it ("010") to mean it as written, or write 10',
  ], 'each where it is written; quoted text, plain decimals and explicitly tagged numbers are fine')
  t.equal(mappings.length, 2, 'the parser still reads both (a file with any problem is not applied)')
  t.end()
})

test('a missing field points at its mapping', t => {
  const problems = parseMappingFile('mappings:\n  - scope: https://gitlab.com/acme/api\n    role: deploy\n', 'm.yaml').problems.map(formatProblem)
  t.plan(2)
  t.ok(problems.includes('m.yaml:2:5: mappings[0].roleArn: is required'), 'roleArn is required')
  t.ok(problems.some(p => p.startsWith('m.yaml:2:5: mappings[0].pin: is required')), 'and so is pin')
})

test('unknown keys, bookkeeping fields and duplicates are problems', t => {
  const text = `mappings:
${deploy('    updatedAt: "2026-01-01T00:00:00.000Z"\n')}${deploy()}extra: true
`
  const problems = parseMappingFile(text, 'm.yaml').problems.map(formatProblem)
  t.plan(3)
  t.ok(problems.includes('m.yaml:6:5: mappings[0].updatedAt: updatedAt is set by tanuki-sts on every write; remove it from the file'), 'updatedAt in a file')
  t.ok(problems.some(p => p.startsWith('m.yaml:11:1: unknown top-level key "extra"')), 'an unknown top-level key')
  t.deepEqual(parseMappingFiles([{ file: 'm.yaml', text }]).problems.filter(p => p.message.startsWith('duplicate')).map(formatProblem),
    ['m.yaml:7:5: mappings[1]: duplicate: https://gitlab.com/acme/payments/api role "deploy" is already mapped at line 2 (mappings[0])'],
    'a (scope, role) pair given twice')
})

test('a duplicate across two files names the other file', t => {
  const text = `mappings:\n${deploy()}`
  const problems = parseMappingFiles([{ file: 'a.yaml', text }, { file: 'b.yaml', text }]).problems.map(formatProblem)
  t.plan(1)
  t.deepEqual(problems, ['b.yaml:2:5: mappings[0]: duplicate: https://gitlab.com/acme/payments/api role "deploy" is already mapped at a.yaml:2 (mappings[0])'],
    'the second file\'s entry is the duplicate')
})

test('YAML errors and wrong shapes are located too', t => {
  const at = (text: string) => parseMappingFile(text, 'm.yaml').problems.map(formatProblem)
  t.plan(6)
  t.match(at('mappings:\n  - scope: a\n    scope: b\n')[0], /^m\.yaml:3:5: Map keys must be unique/, 'a duplicate YAML key')
  t.match(at('mappings: [\n')[0], /^m\.yaml:2:1: /, 'an unclosed list')
  t.match(at('')[0], /^m\.yaml:1:1: the file is empty/, 'an empty file')
  t.match(at('- scope: x\n')[0], /^m\.yaml:1:1: a mapping file is a map/, 'a list at the top')
  t.match(at('mappings:\n')[0], /^m\.yaml:1:1: mappings: must be a list/, 'mappings: with nothing after it')
  t.deepEqual(at('mappings: []\n'), [], 'an explicit empty list is valid')
})

test('a mapping written without `mappings:` around it is one problem that says how to fix it', t => {
  const at = (text: string) => parseMappingFile(text, 'm.yaml').problems.map(formatProblem)
  t.plan(2)
  t.deepEqual(at(deploy().replace(/^ {2}- /, '').replace(/^ {4}/gm, '')),
    ['m.yaml:1:1: this looks like a single mapping: a mapping file lists them under `mappings:`; write `mappings:` on the line above and make this mapping a ' +
      'list item (`  - scope: ...`)'],
    'a single mapping: one problem, not an unknown top-level key per field')
  t.deepEqual(at(deploy().replace(/^ {2}/gm, '')),
    ['m.yaml:1:1: a mapping file is a map with a `mappings:` list, and this is a bare list: put `mappings:` on the line above it'],
    'a bare list of mappings')
})

test('Teardown', t => {
  t.plan(1)
  t.pass('nothing to tear down: parsing touches no table')
})

test('mapping file: a ref condition without ref_type or ref_path is valid, with a warning at its line', t => {
  const text = [
    'mappings:',
    '  - scope: https://gitlab.com/acme/api',
    '    role: deploy',
    '    roleArn: arn:aws:iam::111122223333:role/deploy',
    '    pin: { project_id: "1" }',
    '    conditions:',
    '      ref: main',
    '  - scope: https://gitlab.com/acme/web',
    '    role: deploy',
    '    roleArn: arn:aws:iam::111122223333:role/deploy',
    '    pin: { project_id: "1" }',
    '    conditions:',
    '      ref: main',
    '      ref_type: branch',
  ].join('\n')
  const parsed = parseMappingFile(text, 'm.yaml')
  t.deepEqual(parsed.problems, [], 'no problems: the broker applies it as written')
  t.deepEqual(parsed.warnings.map(formatProblem), [
    'm.yaml:7:7: mappings[0].conditions.ref: matches a branch or a tag of that name; add `ref_type: branch` (or `tag`), or match `ref_path: refs/heads/...`, ' +
      'to say which',
  ], 'one warning, for the mapping that does not say branch or tag')
  t.end()
})

test('mapping file: a ref_type that is neither branch nor tag is a problem; pin none where a pin is possible, a warning', t => {
  const mapping = (scope: string, pin: string, conditions = '') => [
    `  - scope: ${scope}`, '    role: deploy', '    roleArn: arn:aws:iam::111122223333:role/deploy', `    pin: ${pin}`,
    ...(conditions ? ['    conditions:', `      ${conditions}`] : []),
  ]
  const text = ['mappings:',
    ...mapping('https://gitlab.com/acme/api', '{ project_id: "1" }', 'ref_type: tags'),
    ...mapping('https://gitlab.com/acme/web', 'none'),
    ...mapping('https://gitlab.com/acme/*', 'none'),
    ...mapping('https://gitlab.com/acme/**', 'none'),
  ].join('\n')
  const parsed = parseMappingFile(text, 'm.yaml')
  t.deepEqual(parsed.problems.map(formatProblem), ['m.yaml:7:7: mappings[0].conditions.ref_type: ref_type is "branch" or "tag"; "tags" matches neither'],
    'ref_type: tags can never match: a problem, at its line')
  t.deepEqual(parsed.warnings.map(w => formatProblem(w).replace(/: "none".*/, '')), ['m.yaml:11:5: mappings[1].pin', 'm.yaml:15:5: mappings[2].pin'],
    'pin none on a project and on a /* scope: warnings; on /** (where it is required): none')
  t.end()
})

test('mapping file: an environment condition on unprotected refs without environment_protected is a warning', t => {
  const mapping = (conditions: string[]) => [
    '  - scope: https://gitlab.com/acme/api', '    role: deploy', '    roleArn: arn:aws:iam::111122223333:role/deploy', '    pin: { project_id: "1" }',
    '    conditions:', ...conditions.map(c => `      ${c}`),
  ]
  const text = ['mappings:',
    ...mapping(['environment: production', 'ref_protected: ["true", "false"]']),
    ...mapping(['environment: production', 'ref_protected: "*"']),
    ...mapping(['environment: production']),
    ...mapping(['environment: production', 'ref_protected: ["true", "false"]', 'environment_protected: "true"']),
    ...mapping(['environment: production', 'ref_protected: ["true", "false"]', 'environment_protected: "*"']),
  ].join('\n')
  const parsed = parseMappingFile(text, 'm.yaml')
  t.deepEqual(parsed.problems, [], 'no problems: the broker applies them as written')
  t.deepEqual(parsed.warnings.map(w => formatProblem(w).replace(/: applies on unprotected refs.*/, '')),
    ['m.yaml:7:7: mappings[0].conditions.environment', 'm.yaml:14:7: mappings[1].conditions.environment', 'm.yaml:35:7: mappings[4].conditions.environment'],
    'warned where unprotected refs may match (a list with "false", or a glob), also when environment_protected admits "false"; ' +
      'not on protected refs only (the default), nor with environment_protected "true"')
  t.match(formatProblem(parsed.warnings[0]), /require `environment_protected: "true"`/, 'saying what to require')
  t.end()
})

test('mapping file: an unquoted *glob is a YAML alias; it is reported where it is, with the fix', t => {
  const text = ['mappings:', '  - scope: https://gitlab.com/acme/api', '    role: deploy', '    roleArn: arn:aws:iam::111122223333:role/deploy',
    '    pin: { project_id: "1" }', '    conditions:', '      environment: *prod'].join('\n')
  t.deepEqual(parseMappingFile(text, 'm.yaml').problems.map(formatProblem),
    ['m.yaml:7:20: *prod: a value that starts with * is YAML for an alias, not a pattern; quote it ("*prod")'], 'at its line and column, saying to quote it')
  const quoted = parseMappingFile(text.replace('*prod', '"*prod"'), 'm.yaml')
  t.deepEqual(quoted.problems, [], 'quoted, it is a pattern')
  t.end()
})

test('a file that cannot be read says why, and what to give instead', t => {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-unreadable-'))
  const failure = (path: string) => {
    try { readFileSync(path, 'utf8') }
    catch (e) { return unreadable(path, e as NodeJS.ErrnoException) }
    return 'read'
  }
  t.equal(failure(join(dir, 'nope.yaml')), `Cannot read ${dir}/nope.yaml: no such file.`, 'a missing file')
  t.equal(failure(join(dir, '*.yaml')), `Cannot read ${dir}/*.yaml: no file matches this pattern (is the directory empty, or the path wrong?).`,
    'a glob the shell matched to nothing (mappings/*.yaml in an empty directory)')
  t.equal(failure(`${dir}/`), `Cannot read ${dir}/: it is a directory; give its files (${dir}/*.yaml).`, 'a directory')
  rmSync(dir, { recursive: true })
  t.end()
})

test('a tag beyond YAML\'s core schema is a problem at the tag, and the file is not applied', t => {
  const notAllowed = 'is not allowed: a mapping file is plain YAML (maps, lists, strings, numbers, true/false, null); write the value without the tag'
  const cases: Array<[string, string, string]> = [
    // What once made a Map, Set, byte array or date, which the parser then read as "no conditions".
    ['    conditions: !!omap [ {ref: main} ]\n', 'm.yaml:6:17: mappings[0].conditions: !!omap', 'an ordered map'],
    ['    conditions: !!set { main }\n', 'm.yaml:6:17: mappings[0].conditions: !!set', 'a set'],
    ['    conditions: !!binary aGVsbG8=\n', 'm.yaml:6:17: mappings[0].conditions: !!binary', 'binary'],
    ['    conditions: !!timestamp 2001-12-14\n', 'm.yaml:6:17: mappings[0].conditions: !!timestamp', 'a timestamp'],
    ['    conditions: !!pairs [ {ref: main} ]\n', 'm.yaml:6:17: mappings[0].conditions: !!pairs', 'pairs'],
    ['    conditions:\n      ref: !vault main\n', 'm.yaml:7:12: mappings[0].conditions.ref: !vault', 'a custom tag'],
    ['    conditions:\n      ref: [main, !<tag:yaml.org,2002:timestamp> 2001-12-14]\n', 'm.yaml:7:19: mappings[0].conditions.ref[1]: !!timestamp',
      'a verbatim tag in a list'],
    ['    pin: &p !!omap [ {project_id: "4301877"} ]\n', 'm.yaml:5:13: mappings[0].pin: !!omap', 'after an anchor'],
    ['    sessionTags: !!set { project_path }\n', 'm.yaml:6:18: mappings[0].sessionTags: !!set', 'session tags'],
  ]
  for (const [extra, where, what] of cases) {
    const text = `mappings:\n${deploy(extra).replace('    pin: { project_id: "4301877" }\n',
      extra.includes('pin:') ? '' : '    pin: { project_id: "4301877" }\n')}`
    const parsed = parseMappingFile(text, 'm.yaml')
    t.deepEqual(parsed.problems.map(formatProblem), [`${where} ${notAllowed}`], `${what}: one problem, at the tag`)
    t.equal(parsed.mappings.length, 0, `${what}: no mapping to apply`)
  }
  const tagged = '%TAG !e! tag:yaml.org,2002:\n---\nmappings:\n' + deploy('    conditions: !e!omap [ {ref: main} ]\n')
  t.deepEqual(parseMappingFile(tagged, 'm.yaml').problems.map(formatProblem), [`m.yaml:8:17: mappings[0].conditions: !!omap ${notAllowed}`],
    'a %TAG directive is no way around it')
  t.end()
})

test('a session policy\'s Condition tagged !!omap is a problem (it was once sent as {})', t => {
  const text = `mappings:\n${deploy(`    sessionPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: s3:GetObject
          Resource: "*"
          Condition: !!omap [ {StringEquals: {"aws:SourceVpc": vpc-1}} ]
`)}`
  const parsed = parseMappingFile(text, 'm.yaml')
  t.deepEqual(parsed.problems.map(p => `${p.line}:${p.col} ${p.message.split(':')[0]}`), ['12:22 !!omap is not allowed'], 'at the tag, inside the document')
  t.equal(parsed.mappings.length, 0, 'nothing to apply')
  t.end()
})

test('core tags that give the type the value has are plain; one that does not fit is a problem; %YAML 1.1 reads as the core schema', t => {
  const plain = parseMappingFile(`mappings:\n${deploy('    maxDuration: !!int "3600"\n    enabled: !!bool "true"\n    conditions: !!map\n      ref: ' +
    '!!str main\n      environment: !!seq [!!str prod]\n      ref_type: ! branch\n')}`, 'm.yaml')
  t.deepEqual(plain.problems, [], '!!int, !!bool, !!map, !!str, !!seq and the non-specific ! that fit are fine')
  t.deepEqual(plain.mappings[0]?.mapping.conditions, { ref: ['main'], environment: ['prod'], ref_type: ['branch'] }, 'and mean what the plain file means')
  const misfit = parseMappingFile(`mappings:\n${deploy('    conditions:\n      ref: !!float main\n      sha: !!str { a: 1 }\n')}`, 'm.yaml')
  t.deepEqual(misfit.problems.map(formatProblem), [
    'm.yaml:7:12: mappings[0].conditions.ref: !!float does not fit this value: write it without the tag',
    'm.yaml:8:12: mappings[0].conditions.sha: !!str does not fit this value: write it without the tag',
  ], 'a core tag on a value of another type')
  const v11 = parseMappingFile(`%YAML 1.1\n---\nmappings:\n${deploy('    enabled: yes\n')}`, 'm.yaml')
  t.deepEqual(v11.problems.map(formatProblem), ['m.yaml:8:5: mappings[0].enabled: must be true or false'], 'yes is text, not YAML 1.1\'s true')
  t.end()
})

test('a key written as a list or a map is a problem, not a stringified key', t => {
  const parsed = parseMappingFile(`mappings:\n${deploy('    conditions:\n      ? [ref, sha]\n      : main\n')}`, 'm.yaml')
  t.deepEqual(parsed.problems.map(formatProblem), ['m.yaml:7:9: mappings[0].conditions: a key must be written as text, not as a list, a map or an alias'],
    'at the key')
  t.end()
})
