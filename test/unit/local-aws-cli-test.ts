// npm start's AWS CLI line: the AWS CLI on PATH (never a hard-coded one), the one TANUKI_AWS_CLI names, or how to get one.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'tape'
import { awsCliHint, findOnPath } from '../../src/local/aws-cli'

const dir = mkdtempSync(join(tmpdir(), 'tanuki-aws-cli-'))
const STS = 'http://127.0.0.1:5104'
const COMMAND = `sts get-caller-identity --endpoint-url ${STS} --region us-east-1`

function binWithAws (name: string, executable = true): string {
  const path = join(dir, name)
  mkdirSync(path)
  writeFileSync(join(path, 'aws'), '#!/bin/sh\n')
  chmodSync(join(path, 'aws'), executable ? 0o755 : 0o644)
  return path
}

test('the first executable aws on PATH is the one named, with the variable that names another', t => {
  const notExecutable = binWithAws('not-executable', false)
  const first = binWithAws('first')
  const second = binWithAws('second')
  const PATH = [join(dir, 'missing'), notExecutable, first, second].join(':')
  t.deepEqual(findOnPath('aws', PATH), [join(first, 'aws'), join(second, 'aws')], 'each executable aws, in PATH order')
  t.equal(awsCliHint(STS, { PATH }),
    `Or with the AWS CLI (the first on PATH; TANUKI_AWS_CLI=/path/to/aws npm start names another):\n\n${join(first, 'aws')} ${COMMAND}\n`,
    'the first one, as the command to run')
  t.end()
})

test('TANUKI_AWS_CLI names another, quoted for the shell when it must be', t => {
  const PATH = binWithAws('on-path')
  t.equal(awsCliHint(STS, { PATH, TANUKI_AWS_CLI: '/opt/aws cli/v2/aws' }),
    `Or with the AWS CLI (the one TANUKI_AWS_CLI names):\n\n'/opt/aws cli/v2/aws' ${COMMAND}\n`, 'the named one, not the one on PATH')
  t.end()
})

test('no AWS CLI on PATH: how to get one, and the command once there is', t => {
  t.equal(awsCliHint(STS, { PATH: join(dir, 'missing') }),
    `Or with the AWS CLI, once installed (none is on PATH: see docs/prerequisites.md; TANUKI_AWS_CLI=/path/to/aws npm start names one):\n\naws ${COMMAND}\n`,
    'docs/prerequisites.md and the variable')
  t.end()
})

test('Teardown', t => {
  rmSync(dir, { recursive: true, force: true })
  t.end()
})
