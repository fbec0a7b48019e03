// The POST credentials Lambda with its event publish replaced by a no-op: cold-start.ts's reference for what the first
// publish adds to a container's first request. Bundled like a Lambda; never deployed.
import { createCredentialsHandler, wire } from '../src/broker/http'

export const handler = createCredentialsHandler('POST', () => wire(process.env, { publish: async () => {} }))
