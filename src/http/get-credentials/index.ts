// GET /credentials: AWS SDKs and CLIs via AWS_CONTAINER_CREDENTIALS_FULL_URI; answers the container-credentials format.
import { createCredentialsHandler } from '../../broker/http'

export const handler = createCredentialsHandler('GET')
