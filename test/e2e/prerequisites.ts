// `npm run test:e2e` runs this first: every tool the end-to-end suites drive is there, or it stops at once, naming
// each missing one and how to install it (docs/prerequisites.md), before any suite starts a server.
import { findE2eTools } from '../helpers/e2e-tools'

const { problems } = findE2eTools()
if (problems.length > 0) {
  console.error(`npm run test:e2e needs ${problems.length === 1 ? 'a tool that is' : 'tools that are'} missing; no suite was run.`)
  for (const problem of problems) console.error(`  - ${problem}`)
  console.error('What a developer needs: docs/prerequisites.md.')
  process.exit(1)
}
