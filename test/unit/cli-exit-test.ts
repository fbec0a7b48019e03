// Spec for the CLI's exit statuses (src/cli/main.ts): a pipeline can tell a lost race (re-run) from a mistake (fix).
import test from 'tape'
import { ApplyConflict, CliError, MappingConflict } from '../../src/broker/errors'
import { exitCodeOf } from '../../src/cli/main'
import { EXIT_CONFLICT } from '../../src/cli/output'

test('exit status: 3 when another writer got there first, 1 for anything to fix', t => {
  const conflict = new MappingConflict('https://gitlab.com/acme/api', 'deploy')
  t.equal(EXIT_CONFLICT, 3, 'the conflict status is 3')
  t.equal(exitCodeOf(conflict), 3, 'put / delete losing a conditional write')
  t.equal(exitCodeOf(new CliError(new ApplyConflict(conflict, 1, 2).message, EXIT_CONFLICT)), 3, 'apply losing one, as apply reports it')
  t.equal(exitCodeOf(new CliError('--role is required')), 1, 'bad input')
  t.equal(exitCodeOf(new Error('ECONNRESET')), 1, 'anything unexpected')
  t.end()
})
