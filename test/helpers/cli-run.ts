// The admin CLI run as users run it (`node bin/tanuki-sts.js ...`, a real subprocess) on a test sandbox's tables:
// never on a terminal, never in colour.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './broker-env'
import type { BrokerEnv } from './broker-env'

export interface CliRun { code: number; stdout: string; stderr: string }

export function runCli (env: Pick<BrokerEnv, 'tablesPort' | 'issuer'>, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  return new Promise(resolve => {
    const child = execFile(process.execPath, [join(ROOT, 'bin', 'tanuki-sts.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ARC_TABLES_PORT: String(env.tablesPort), NO_COLOR: '1', TANUKI_ISSUER_URL: env.issuer.url, ...extraEnv },
      timeout: 60_000,
    }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    })
    child.stdin?.end()
  })
}
