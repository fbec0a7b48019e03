// `npm run bench [-- NAME ...]`: runs each figure group in its own fresh process and prints one JSON line per figure.
// The broker's own log lines (it logs every issuance) are dropped; a group that fails is a non-zero exit.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const GROUPS = ['issuance', 'round-trips', 'matcher', 'load', 'cold-start', 'cold-issuance', 'cli-start', 'cost'] as const
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [...GROUPS]

function runGroup (name: string): Promise<number> {
  return new Promise(resolve => {
    // --expose-gc: load.ts reads memory after a full collection.
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, `${name}.ts`)], {
      cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'],
    })
    let buffer = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) if (line.startsWith('{"bench":')) process.stdout.write(line + '\n')
    })
    child.on('close', code => resolve(code ?? 1))
  })
}

async function main (): Promise<void> {
  let failed = 0
  for (const name of chosen) {
    if (!(GROUPS as readonly string[]).includes(name)) throw new TypeError(`unknown bench "${name}"; one of ${GROUPS.join(', ')}`)
    if (await runGroup(name) !== 0) {
      failed++
      console.error(`bench ${name} failed`)
    }
  }
  process.exit(failed === 0 ? 0 : 1)
}

main().catch(err => { console.error(err); process.exit(1) })
