// The credentials Lambda's SDK clients built as the broker builds them (dynamo.ts, sts.ts), and nothing else: the
// second baseline for its load time, since a Lambda that sends requests cannot avoid constructing its clients either.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { STSClient } from '@aws-sdk/client-sts'
import { AWS_CLIENT_OPTIONS } from '../src/broker/aws-client-options'

export { BatchGetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
export { AssumeRoleCommand } from '@aws-sdk/client-sts'
export const db = new DynamoDBClient({ region: 'us-east-1', ...AWS_CLIENT_OPTIONS })
export const sts = new STSClient({ region: 'us-east-1', ...AWS_CLIENT_OPTIONS })
