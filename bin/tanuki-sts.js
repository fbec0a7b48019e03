#!/usr/bin/env node
// The `tanuki-sts` admin CLI: registers tsx (TypeScript on the fly) and runs src/cli/main.ts.
'use strict'
// The AWS SDK's notice about Node versions would open every command's stderr; the CLI keeps stderr for its own messages.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
require('tsx/cjs')
require('../src/cli/main.ts').run(process.argv)
