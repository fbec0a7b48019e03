// POST /credentials: curl in a CI job; `Authorization: Bearer <ID token>`, answers json or shell.
import { createCredentialsHandler } from '../../broker/http'

export const handler = createCredentialsHandler('POST')
