// Runs the tape suites in one process and closes with one summary line: "tests: N passed, N failed".
// Usage: npm test [-- FILE ...]; default: every test/unit, test/integration and test/security *-test.ts file.
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(__dirname, '..')
const suites = ['test/unit', 'test/integration', 'test/security']
const files = process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : suites.flatMap(dir => readdirSync(join(root, dir)).filter(f => f.endsWith('-test.ts')).sort().map(f => join(dir, f)))

const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'node_modules', 'tape', 'bin', 'tape'), ...files], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env,
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
})
let passed = 0
let failed = 0
let buffer = ''
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  buffer += chunk.toString()
  const lines = buffer.split('\n')
  buffer = lines.pop() ?? ''
  for (const line of lines) {
    if (/^ok \d+/.test(line)) passed++
    else if (/^not ok \d+/.test(line)) failed++
  }
})
child.on('close', code => {
  console.log(`\nfiles: ${files.map(f => relative(root, join(root, f))).length}`)
  console.log(`tests: ${passed} passed, ${failed} failed`)
  process.exit(code === 0 && failed === 0 && passed > 0 ? 0 : 1)
})
