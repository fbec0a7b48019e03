// A child process that calls STS GetCallerIdentity with the JS SDK configured by its environment alone (region,
// endpoint, credentials), as user code would be, and prints the caller's ARN. Usage: sdk-whoami.ts [chain|from-http]
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { fromHttp } from '@aws-sdk/credential-provider-http'

// `chain`: no credentials option, so the SDK's default chain (fromNodeProviderChain) finds them.
// `from-http`: the container-credentials provider alone, reading AWS_CONTAINER_CREDENTIALS_FULL_URI and _TOKEN.
const client = new STSClient(process.argv[2] === 'from-http' ? { credentials: fromHttp({}) } : {})
client.send(new GetCallerIdentityCommand({})).then(
  me => console.log(me.Arn),
  (err: unknown) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
    process.exit(1)
  }
)
