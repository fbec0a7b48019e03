// The `tanuki-sts` admin CLI (DESIGN §6): one command group per file, put together here, and the one place an error
// becomes a message and an exit status. bin/tanuki-sts.js runs it compiled (scripts/build-cli.js bundles it into dist/).
import { Command } from 'commander'
import { BrokerError, CliError, MappingConflict, MappingInvalid } from '../broker/errors'
import { VERSION } from '../broker/version'
import { registerAudit } from './audit'
import { registerExplain } from './explain'
import { registerIssuers } from './issuers'
import { registerMappings } from './mappings'
import { EXIT_CONFLICT, err, say } from './output'
import { registerStats } from './stats'
import { registerToken } from './token'
import { registerTrustPolicy } from './trust-policy'

export function buildProgram (): Command {
  const program = new Command('tanuki-sts')
    .description('Administer a tanuki-sts broker: mappings, explain, audit, stats, issuer keys, trust policies, local tokens.')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', '\nTables: --local (the running sandbox) or --region REGION --env staging|production (a deployed stack).\n' +
      '\nExamples:\n  $ tanuki-sts mappings list --local\n  $ tanuki-sts mappings apply mappings/*.yaml --dry-run --region us-east-1 --env production\n' +
      '  $ tanuki-sts explain --local --token "$(tanuki-sts token mint)" --role deploy')
  registerMappings(program)
  registerExplain(program)
  registerAudit(program)
  registerStats(program)
  registerIssuers(program)
  registerTrustPolicy(program)
  registerToken(program)
  return program
}

/** The message for a failure: what went wrong and what to do, never a stack (TANUKI_DEBUG=1 adds it). */
export function describeError (e: unknown): string {
  if (e instanceof CliError || e instanceof MappingConflict) return e.message
  // The store wraps every failure as 503 Unavailable; the target's own explanation is more useful here.
  if (e instanceof BrokerError && e.cause instanceof CliError) return e.cause.message
  if (e instanceof MappingInvalid) return e.problems.map(p => `${p.path.join('.')}: ${p.message}`).join('\n')
  if (e instanceof BrokerError) return e.detail ? `${e.message} (${e.detail})` : e.message
  if (e instanceof Error) return `${e.name && e.name !== 'Error' ? e.name + ': ' : ''}${e.message}`
  return String(e)
}

/** 3 for a write that lost to another writer (re-run to plan again), 1 for everything else. */
export function exitCodeOf (e: unknown): number {
  if (e instanceof CliError) return e.exitCode
  return e instanceof MappingConflict ? EXIT_CONFLICT : 1
}

export async function run (argv: readonly string[]): Promise<void> {
  // `tanuki-sts ... | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0) })
  try {
    await buildProgram().parseAsync([...argv])
  }
  catch (e) {
    say(`${err.red('error:')} ${describeError(e)}`)
    if (process.env.TANUKI_DEBUG && e instanceof Error && e.stack) say(err.dim(e.stack))
    process.exitCode = exitCodeOf(e)
  }
}
