// Architect deploy plugin: lets the broker's Lambda role assume the target roles, keeps the tables whatever happens to
// the stack, and hands the Lambdas their table names and the credentials-issued topic.
// Settings come from the `@tanuki-sts` pragma in app.arc. Plain JS: Architect loads plugins with require().

/** @param {Array<unknown>|undefined} pragma */
function settings (pragma) {
  /** @type {Record<string, string[]>} */
  const out = {}
  for (const row of pragma ?? []) {
    if (Array.isArray(row)) out[String(row[0])] = row.slice(1).map(String)
    else if (row && typeof row === 'object') {
      for (const [k, v] of Object.entries(row)) out[k] = (Array.isArray(v) ? v : [v]).map(String)
    }
  }
  return out
}

/** The statement a broker needs: AssumeRole, and the tag / source-identity rights AssumeRole with those fields requires. */
function stsStatement (targetRoles) {
  return {
    Sid: 'TanukiStsAssumeTargetRoles',
    Effect: 'Allow',
    Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
    Resource: targetRoles,
  }
}

const EVENTS_TOPIC = 'CredentialsIssuedEventTopic'
const TABLES = ['MappingsTable', 'AuditTable']

const tableArn = (logicalId, suffix = '') => ({
  'Fn::Sub': [`arn:aws:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/\${tablename}${suffix}`, { tablename: { Ref: logicalId } }],
})

/**
 * Least privilege on the tables, in place of Architect's `dynamodb:*`: the broker only reads mappings (admins write
 * them with their own credentials), and only appends to and annotates the audit table — it can never delete a record.
 */
function dynamoStatements () {
  return [
    { Sid: 'ReadMappings', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: [tableArn('MappingsTable')] },
    {
      Sid: 'AppendAudit',
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      Resource: [tableArn('AuditTable'), tableArn('AuditTable', '/index/*')],
    },
    {
      Sid: 'NeverDelete',
      Effect: 'Deny',
      Action: ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive'],
      Resource: [tableArn('MappingsTable'), tableArn('AuditTable')],
    },
  ]
}

function start ({ arc, cloudformation }) {
  const targetRoles = settings(arc['tanuki-sts'])['target-roles']
  if (!targetRoles || targetRoles.length === 0) {
    throw Error('app.arc: @tanuki-sts needs `target-roles <IAM role ARN pattern> ...`, the roles the broker may assume')
  }
  const resources = cloudformation.Resources
  const role = resources.Role
  if (!role) throw Error('tanuki-sts plugin: the Lambda role (Resources.Role) is missing from the template')
  role.Properties.Policies = (role.Properties.Policies ?? []).filter(p => p.PolicyName !== 'ArcDynamoPolicy')
  role.Properties.Policies.push({ PolicyName: 'TanukiStsTables', PolicyDocument: { Version: '2012-10-17', Statement: dynamoStatements() } })
  role.Properties.Policies.push({
    PolicyName: 'TanukiStsPolicy',
    PolicyDocument: { Version: '2012-10-17', Statement: [stsStatement(targetRoles)] },
  })
  // The tables outlive the stack's mistakes. An update that replaces a table creates the new one, moves the stack to it
  // and only then deletes the old one, in a cleanup whose failure rolls nothing back; a stack deletion, or the rollback
  // of a failed first create, deletes them too. Retained, the mappings and the audit trail stay, to recover from.
  for (const logicalId of TABLES) {
    if (!resources[logicalId]) throw Error(`tanuki-sts plugin: the ${logicalId} (@tables) is missing from the template`)
    Object.assign(resources[logicalId], { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' })
  }
  // Architect names the topic of `@events credentials-issued` CredentialsIssuedEventTopic; its Ref is the topic ARN,
  // which the broker publishes to directly (no SSM lookup at run time). The Lambda role may already sns:Publish to it.
  if (!resources[EVENTS_TOPIC]) throw Error(`tanuki-sts plugin: the ${EVENTS_TOPIC} (@events credentials-issued) is missing from the template`)
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Serverless::Function') continue
    const props = resource.Properties
    props.Environment = props.Environment ?? {}
    props.Environment.Variables = {
      ...props.Environment.Variables,
      BROKER_TABLE_MAPPINGS: { Ref: 'MappingsTable' },
      BROKER_TABLE_AUDIT: { Ref: 'AuditTable' },
      BROKER_EVENTS_TOPIC: { Ref: EVENTS_TOPIC },
    }
  }
  return cloudformation
}

module.exports = { deploy: { start }, stsStatement, dynamoStatements }
