// The admin CLI as users run it: `node bin/tanuki-sts.js ...`, a real subprocess, with stdin closed or on a terminal.
import { execFile } from 'node:child_process'
import type { ExecFileException } from 'node:child_process'
import { join } from 'node:path'
import { shellQuote } from '../../src/broker/respond'
import { ROOT } from './broker-env'
import type { BrokerEnv } from './broker-env'

export interface Run { code: number; stdout: string; stderr: string }

const BIN = join(ROOT, 'bin', 'tanuki-sts.js')
const exitCode = (error: ExecFileException | null) => error ? (typeof error.code === 'number' ? error.code : 1) : 0

/** Runs the CLI with exactly this environment, never on a terminal; resolves with its exit code and output, whatever they are. */
export function runCli (args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise(resolve => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: exitCode(error), stdout, stderr }))
    child.stdin?.end()
  })
}

/**
 * Runs the CLI on a real terminal: util-linux `script` gives it a pseudo-terminal, and `answer` is typed at its prompt.
 * stdout and stderr arrive together, as a user sees them.
 */
export function runCliOnTerminal (args: readonly string[], env: NodeJS.ProcessEnv, answer: string): Promise<Run> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ')
  return new Promise(resolve => {
    const child = execFile('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: exitCode(error), stdout, stderr }))
    // Typed once the prompt is up: a terminal's input that arrives earlier is read by whoever reads first.
    setTimeout(() => child.stdin?.end(`${answer}\n`), 1500)
  })
}

/** The environment of `tanuki-sts --local` on a test sandbox's tables: its port, the local issuer, no colour. */
export function localCliEnv (env: Pick<BrokerEnv, 'tablesPort' | 'issuer'>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ARC_TABLES_PORT: String(env.tablesPort), NO_COLOR: '1', TANUKI_ISSUER_URL: env.issuer.url, ...extra }
}
