// The admin CLI as users run it: `node bin/tanuki-sts.js ...`, a real subprocess, never on a terminal (stdin closed).
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './broker-env'

export interface Run { code: number; stdout: string; stderr: string }

/** Runs the CLI with exactly this environment; resolves with its exit code and output, whatever they are. */
export function runCli (args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise(resolve => {
    const child = execFile(process.execPath, [join(ROOT, 'bin', 'tanuki-sts.js'), ...args], { cwd: ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }))
    child.stdin?.end()
  })
}
