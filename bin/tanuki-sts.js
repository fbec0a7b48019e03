#!/usr/bin/env node
// The `tanuki-sts` admin CLI: runs the compiled CLI (dist/cli.js, scripts/build-cli.js), built first when it is
// missing or was made from other sources than the ones here.
'use strict'
// The AWS SDK's notice about Node versions would open every command's stderr; the CLI keeps stderr for its own messages.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const cli = require('../scripts/build-cli.js')
let file
try { file = cli.current() ?? cli.build() }
catch (e) {
  console.error(`tanuki-sts: cannot build the CLI from its sources (${e instanceof Error ? e.message : String(e)}). ` +
    `Run npm install in ${require('node:path').join(__dirname, '..')}.`)
  process.exit(1)
}
require(file).run(process.argv)
