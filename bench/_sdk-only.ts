// The credentials Lambda's unavoidable SDK imports, and nothing else: the two clients and the commands it sends.
// Bundled like a Lambda by cold-start.ts, as the baseline its load time is compared with.
export { BatchGetItemCommand, DynamoDBClient, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
export { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
