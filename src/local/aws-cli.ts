// Which AWS CLI a local run names and the end-to-end suites drive: $TANUKI_AWS_CLI, else the first `aws` on PATH.
// Whether it is v2 is for whoever runs it to check (test/helpers/e2e-tools.ts); nothing here starts it.
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { shellQuote } from '../broker/respond'

/** Names the AWS CLI to use instead of the first `aws` on PATH. */
export const AWS_CLI_VARIABLE = 'TANUKI_AWS_CLI'

function isExecutableFile (file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  }
  catch { return false }
}

/** Every executable file called `name` in the directories of `path`, in their order (as a shell would try them). */
export function findOnPath (name: string, path: string | undefined): string[] {
  return (path ?? '').split(delimiter).filter(dir => isAbsolute(dir)).map(dir => join(dir, name)).filter(isExecutableFile)
}

/** The AWS CLIs to consider, in order: the one $TANUKI_AWS_CLI names alone, else each `aws` on PATH. */
export function awsCliCandidates (env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env[AWS_CLI_VARIABLE]
  return chosen ? [chosen] : findOnPath('aws', env.PATH)
}

/** A path as one shell word. */
const shellWord = (s: string) => /^[\w/.,:+=@-]+$/.test(s) ? s : shellQuote(s)

/** `npm start`'s lines for checking issued credentials with the AWS CLI: the one it found, and how to name another. */
export function awsCliHint (stsUrl: string, env: NodeJS.ProcessEnv = process.env): string {
  const command = `sts get-caller-identity --endpoint-url ${stsUrl} --region us-east-1`
  const cli = awsCliCandidates(env)[0]
  const another = `${AWS_CLI_VARIABLE}=/path/to/aws npm start names another`
  if (cli === undefined) {
    return `Or with the AWS CLI, once installed (none is on PATH: see docs/prerequisites.md; ${AWS_CLI_VARIABLE}=/path/to/aws npm start names one):\n\naws ${command}\n`
  }
  const which = env[AWS_CLI_VARIABLE] ? `the one ${AWS_CLI_VARIABLE} names` : `the first on PATH; ${another}`
  return `Or with the AWS CLI (${which}):\n\n${shellWord(cli)} ${command}\n`
}
