// The Lambda bundles' stand-in for @aws-sdk/credential-provider-node (esbuild.config.js aliases it to this file): the
// Lambda role's credentials from the environment, which AWS and sandbox always set. Not used by the CLI or tests.
// The SDK's full chain (SSO, profiles, process, web identity, IMDS, ...) is never reached in a Lambda, since the
// environment comes first in it, yet its code was compiled at every cold start (docs/performance.md).

export interface EnvCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
  readonly expiration?: Date
}

/** The SDK clients' credentialDefaultProvider: what fromEnv() does, read on each call (the SDK caches the result). */
export function defaultProvider (): () => Promise<EnvCredentials> {
  return async () => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env
    const expiration = process.env.AWS_CREDENTIAL_EXPIRATION
    if (!accessKeyId || !secretAccessKey) {
      throw new Error('No AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); Lambda and sandbox always set them.')
    }
    return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }), ...(expiration && { expiration: new Date(expiration) }) }
  }
}
