// esbuild settings for @architect/plugin-typescript (merged under its fixed entry/outfile options).
module.exports = {
  target: 'node20',
  // @architect/functions keeps a fallback require('aws-sdk/...') (SDK v2) and its legacy tables
  // client requires @aws-sdk/lib-dynamodb; the broker uses neither, so both stay out of the bundle.
  external: ['aws-sdk', 'aws-sdk/*', '@aws-sdk/lib-dynamodb'],
  legalComments: 'none',
}
