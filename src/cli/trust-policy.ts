// `trust-policy`: the trust policy a target role needs so the broker may assume it (DESIGN §5), and an ABAC example.
// The actions come from the deploy plugin's own statement (src/plugins/tanuki-sts.js), so the two always agree.
import type { Command } from 'commander'
import { CliError } from '../broker/errors'
import { DEFAULT_SESSION_TAGS, ROLE_ARN } from '../broker/role'
import { err, printJson, say } from './output'

// The deploy plugin is plain JS (Architect loads plugins with require()).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { stsStatement } = require('../plugins/tanuki-sts') as { stsStatement (roles: string[]): { Action: string[] } }

export function checkBrokerRoleArn (arn: string): string {
  if (ROLE_ARN.test(arn)) return arn
  if (/^arn:aws(?:-[a-z]+)*:sts::\d{12}:assumed-role\//.test(arn)) {
    throw new CliError(`--broker-role-arn: "${arn}" is a session (assumed-role) ARN; give the role's own ARN, arn:aws:iam::ACCOUNT:role/NAME.`)
  }
  throw new CliError(`--broker-role-arn: "${arn}" is not an IAM role ARN (arn:aws:iam::123456789012:role/name).`)
}

/** The target role's trust policy: the broker's Lambda role may assume it, tag the session and set SourceIdentity. */
export function trustPolicy (brokerRoleArn: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [{
      Sid: 'TanukiStsBroker',
      Effect: 'Allow',
      Principal: { AWS: checkBrokerRoleArn(brokerRoleArn) },
      Action: stsStatement([brokerRoleArn]).Action,
    }],
  }
}

/** A permissions policy for the target role that scopes each project to its own prefix, by session tag (ABAC). */
export function abacExample (): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [{
      Sid: 'EachProjectItsOwnPrefix',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: 'arn:aws:s3:::acme-artifacts/${aws:PrincipalTag/gitlab:project_path}/*',
    }],
  }
}

/** What `trust-policy` says after the policy (on stderr, so stdout stays a policy document): tags and an ABAC example. */
export function trustPolicyNotes (): string[] {
  return [
    'Above: the trust policy of each target role (IAM > Roles > Trust relationships); stdout holds only the policy, so',
    '`tanuki-sts trust-policy --broker-role-arn ARN > trust.json` gives a file for `aws iam create-role --assume-role-policy-document file://trust.json`.',
    `The broker tags every session with ${DEFAULT_SESSION_TAGS.map(t => `gitlab:${t}`).join(', ')}`,
    '(or the claims in the mapping\'s sessionTags), so a target role can grant by tag (ABAC).',
    'Example permissions policy: each project may use only its own prefix of a bucket.',
    ...JSON.stringify(abacExample(), null, 2).split('\n').map(l => `  ${l}`),
  ]
}

export function registerTrustPolicy (program: Command): void {
  program.command('trust-policy')
    .description('print the trust policy a target role needs to let the broker assume it, and an ABAC example')
    .requiredOption('--broker-role-arn <arn>', 'the broker\'s Lambda role (arn:aws:iam::ACCOUNT:role/NAME)')
    .option('--json', 'print only the trust policy (no notes on stderr)')
    .addHelpText('after', '\nExample:\n  $ tanuki-sts trust-policy --broker-role-arn arn:aws:iam::111122223333:role/TanukiStsProduction-Role-1A2B3C\n' +
      '  (the role: aws cloudformation describe-stack-resource --stack-name TanukiStsProduction --logical-resource-id Role)')
    .action((opts: { brokerRoleArn: string; json?: boolean }) => {
      printJson(trustPolicy(opts.brokerRoleArn))
      if (!opts.json) for (const line of trustPolicyNotes()) say(err.dim(line))
    })
}
