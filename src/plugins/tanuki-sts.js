// Architect deploy plugin: lets the credentials Lambdas' role (and no other Lambda's) assume the target roles, keeps
// and protects the tables whatever happens to the stack, throttles the API, gives the console's Lambdas roles of their
// own (and alone its secrets), and hands the Lambdas their table names and the credentials-issued topic.
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
const TABLES = ['MappingsTable', 'AuditTable', 'IssuerKeysTable']
/** The attributes of an issuer-keys item (src/broker/issuer-keys.ts, KEYS_ITEM_ATTRIBUTES): all the broker may write there. */
const ISSUER_KEYS_ATTRIBUTES = ['issuer', 'jwks', 'source', 'fetchedAt', 'updatedBy']

const tableArn = (logicalId, suffix = '') => ({
  'Fn::Sub': [`arn:aws:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/\${tablename}${suffix}`, { tablename: { Ref: logicalId } }],
})

/**
 * Least privilege on the tables, in place of Architect's `dynamodb:*`: the broker only reads mappings (admins write
 * them with their own credentials), only appends to and annotates the audit table — it can never delete a record —
 * and in the issuer-keys table reads items and puts key items (the sets it fetched from an issuer), nothing else.
 * Whoever can put a key item can mint tokens the broker accepts (SECURITY.md): no other role of the stack may.
 */
function dynamoStatements () {
  return [
    // Query: the roles mapped at a project's scopes, read only to word a "no mapping" denial (mapped-roles.ts).
    { Sid: 'ReadMappings', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'], Resource: [tableArn('MappingsTable')] },
    { Sid: 'ReadIssuerKeys', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: [tableArn('IssuerKeysTable')] },
    {
      Sid: 'StoreFetchedIssuerKeys',
      Effect: 'Allow',
      Action: ['dynamodb:PutItem'],
      Resource: [tableArn('IssuerKeysTable')],
      // Only items of the key-item shape: a PutItem naming any other attribute is refused.
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ISSUER_KEYS_ATTRIBUTES } },
    },
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
      Resource: [tableArn('MappingsTable'), tableArn('AuditTable'), tableArn('IssuerKeysTable')],
    },
  ]
}

/**
 * A target-roles pattern names one account and starts the role name with literal characters. `arn:aws:iam::*:role/*`
 * or `role/*` would let the broker assume every role that trusts its account's root, as many do (CDK's deploy roles,
 * OrganizationAccountAccessRole): then one mapping, or any code in the credentials Lambdas, could hand those out.
 */
const NARROW_TARGET_ROLE = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-][\w+=,.@/*?-]*$/

/**
 * The web console's Lambdas (src/console): its pages read the mappings and the audit; its forms (POST) also write a
 * mapping, conditionally, and the change's audit record. Neither deletes anything, nor assumes any role.
 */
const CONSOLE_READ_LAMBDAS = ['GetConsoleHTTPLambda', 'GetConsoleCatchallHTTPLambda']
const CONSOLE_WRITE_LAMBDA = 'PostConsoleCatchallHTTPLambda'
/** Set with `arc env` for the console, and given to every Lambda by Architect: only the console's keep them. */
const CONSOLE_SECRETS = ['CONSOLE_CLIENT_SECRET', 'ARC_APP_SECRET']

function consoleStatements (writes) {
  const audit = [tableArn('AuditTable'), tableArn('AuditTable', '/index/*')]
  return [
    // Query: the roles mapped at a project's scopes, as Explain words a "no mapping" denial (mapped-roles.ts).
    { Sid: 'ConsoleReadMappings', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      Resource: [tableArn('MappingsTable')] },
    // BatchGetItem: the byProject index keeps keys only, so a project's records are read by key.
    { Sid: 'ConsoleReadAudit', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'], Resource: audit },
    // Explain verifies a pasted token with the keys the broker uses: read, never written (console/deps.ts).
    { Sid: 'ConsoleReadIssuerKeys', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: [tableArn('IssuerKeysTable')] },
    ...(writes ? [
      { Sid: 'ConsoleWriteMappings', Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: [tableArn('MappingsTable')] },
      { Sid: 'ConsoleRecordChanges', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: [tableArn('AuditTable')] },
    ] : []),
  ]
}

/** The Lambdas that issue credentials: the only ones given the role that may assume target roles. */
const CREDENTIALS_LAMBDAS = ['PostCredentialsHTTPLambda', 'GetCredentialsHTTPLambda']
/** The event Lambda: it annotates the audit record of each issuance, and needs nothing else. */
const EVENTS_LAMBDA = 'CredentialsIssuedEventLambda'

/** `throttle-rate` / `throttle-burst` under @tanuki-sts: the HTTP API's limits for all routes (API Gateway answers 429 past them). */
const THROTTLE_DEFAULTS = { 'throttle-rate': 100, 'throttle-burst': 500 }

function throttle (config) {
  const value = name => {
    const text = config[name]?.[0]
    if (text === undefined) return THROTTLE_DEFAULTS[name]
    if (!/^\d{1,6}$/.test(text) || Number(text) < 1) throw Error(`app.arc: @tanuki-sts ${name} must be a whole number of requests from 1, not "${text}"`)
    return Number(text)
  }
  return { ThrottlingRateLimit: value('throttle-rate'), ThrottlingBurstLimit: value('throttle-burst') }
}

/** A role for a Lambda that must not issue credentials: its own logs, and the statements given. */
function plainRole (statements) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{
        PolicyName: 'TanukiStsPlain',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OwnLogs',
              Effect: 'Allow',
              Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
              // Not the stack's name as a prefix: CloudFormation shortens it in long function names.
              Resource: { 'Fn::Sub': 'arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*' },
            },
            ...statements,
          ],
        },
      }],
    },
  }
}

/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]

/**
 * `log-retention-days N` (opt-in): each function logs to a log group of the stack's own that keeps N days, instead of
 * the /aws/lambda/ group Lambda creates, which keeps everything forever (and which a stack cannot adopt: it exists).
 */
function retentionDays (config, name) {
  const text = config[name]?.[0]
  if (text === undefined) return undefined
  if (!RETENTION_DAYS.includes(Number(text)) || !/^\d+$/.test(text)) {
    throw Error(`app.arc: @tanuki-sts ${name} must be one of CloudWatch's periods (${RETENTION_DAYS.join(', ')}), not "${text}"`)
  }
  return Number(text)
}

function logRetention (config, resources) {
  const days = retentionDays(config, 'log-retention-days')
  if (days === undefined) return
  for (const [name, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Serverless::Function') continue
    const group = `${name}Logs`
    // Kept if the option is turned off or the stack deleted, as the tables are (a generated name: no clash later).
    resources[group] = { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { RetentionInDays: days } }
    resource.Properties.LoggingConfig = { LogGroup: { Ref: group } }
    // Role's logs statement (Architect's) covers any group; the plain roles' covers /aws/lambda/* only.
    const own = resource.Properties.Role?.['Fn::GetAtt']?.[0]
    if (own) {
      resources[own].Properties.Policies[0].PolicyDocument.Statement.push({
        Sid: `Logs${name}`, Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [group, 'Arn'] },
      })
    }
  }
}

/** What an access log line holds: who asked for what, and the answer. Never a header, so never a token. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId', time: '$context.requestTime', sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent', method: '$context.httpMethod', path: '$context.path', route: '$context.routeKey',
  status: '$context.status', responseLength: '$context.responseLength', integrationError: '$context.integrationErrorMessage',
})

/**
 * `access-log-retention-days N` (opt-in): API Gateway logs every request, the ones it answers itself too (a 429 when
 * throttled, its own 5xx), to a log group of the stack's own kept N days. The broker's own lines cover /credentials only.
 */
function accessLogs (config, resources) {
  const days = retentionDays(config, 'access-log-retention-days')
  if (days === undefined) return
  // Under /aws/vendedlogs/: API Gateway delivers through CloudWatch's vended logs, whose account-wide resource policy
  // has room for few other groups; that prefix is covered by one wildcard entry. Deleted with the stack (a fixed name).
  resources.HttpAccessLogs = {
    Type: 'AWS::Logs::LogGroup',
    Properties: { LogGroupName: { 'Fn::Sub': '/aws/vendedlogs/${AWS::StackName}-access' }, RetentionInDays: days },
  }
  resources.HTTP.Properties.AccessLogSettings = { DestinationArn: { 'Fn::GetAtt': ['HttpAccessLogs', 'Arn'] }, Format: ACCESS_LOG_FORMAT }
}

/**
 * Monitoring, in its own function: the broker's metrics (src/broker/emf.ts: EMF lines, in the namespace
 * `TanukiSts/<stack name>`), alarms on them and on AWS's own metrics, sent to an SNS topic, and a dashboard.
 * `alarm-email ADDRESS ...` subscribes addresses to the topic the stack creates; `alarm-topic ARN` sends the alarms to
 * a topic of yours instead. `metrics-per-project on` adds a Project dimension (one metric per project: it costs).
 * What each alarm means and what to do is docs/operations.md.
 */
const ALARM_PERIOD = 300

function monitoringSettings (config) {
  const emails = config['alarm-email'] ?? []
  for (const e of emails) {
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) throw Error(`app.arc: @tanuki-sts alarm-email must be e-mail addresses, not "${e}"`)
  }
  const topic = config['alarm-topic']
  if (topic && (topic.length !== 1 || !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(topic[0]))) {
    throw Error(`app.arc: @tanuki-sts alarm-topic must be one SNS topic ARN (arn:aws:sns:us-east-1:123456789012:NAME), not "${topic.join(' ')}"`)
  }
  if (topic && emails.length) throw Error('app.arc: @tanuki-sts alarm-email and alarm-topic exclude each other: subscribe the addresses to your topic yourself')
  const perProject = config['metrics-per-project']?.[0] ?? 'off'
  if (!['on', 'off'].includes(perProject)) throw Error(`app.arc: @tanuki-sts metrics-per-project must be on or off, not "${perProject}"`)
  return { emails, topic: topic?.[0], perProject: perProject === 'on' }
}

const metric = (namespace, name, dimensions = {}) => ({
  Namespace: namespace,
  MetricName: name,
  Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
})
/** One series of an alarm's metric math, summed over the alarm's period. */
const series = (id, m, stat = 'Sum') => ({ Id: id, MetricStat: { Metric: m, Period: ALARM_PERIOD, Stat: stat }, ReturnData: false })

function alarm (name, description, props, actions) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: { 'Fn::Sub': `\${AWS::StackName}-${name}` },
      AlarmDescription: `${description} What to do: docs/operations.md#${name}.`,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      // No requests, no data: that is no failure.
      TreatMissingData: 'notBreaching',
      AlarmActions: actions,
      OKActions: actions,
      ...props,
    },
  }
}

/** The alarms: name -> resource. The broker's namespace is a Fn::Sub value; functions and tables are Refs. */
function alarms (ns, actions) {
  const api = { ApiId: { Ref: 'HTTP' } }
  const fnThrottles = CREDENTIALS_LAMBDAS.map((fn, i) => series(`lambda${i}`, metric('AWS/Lambda', 'Throttles', { FunctionName: { Ref: fn } })))
  const tableThrottles = TABLES.flatMap((table, i) => ['ReadThrottleEvents', 'WriteThrottleEvents']
    .map((name, j) => series(`table${i}${j}`, metric('AWS/DynamoDB', name, { TableName: { Ref: table } }))))
  const throttleSeries = [...fnThrottles, ...tableThrottles, series('sts', metric(ns, 'UpstreamErrors', { StsCode: 'Throttling' }))]
  return {
    AlarmServerErrorRate: alarm('server-error-rate', 'More than 5% of the HTTP API\'s answers in 5 minutes were 5xx (at least 10 requests).', {
      Threshold: 5,
      Metrics: [
        series('errors', metric('AWS/ApiGateway', '5xx', api)),
        series('requests', metric('AWS/ApiGateway', 'Count', api)),
        { Id: 'rate', Label: '5xx, % of requests', Expression: 'IF(requests >= 10, 100 * errors / requests, 0)', ReturnData: true },
      ],
    }, actions),
    AlarmUpstreamErrors: alarm('upstream-errors', 'STS refused or failed AssumeRole 3 times or more in 5 minutes (502 upstream_error).', {
      Threshold: 3, ...metric(ns, 'UpstreamErrors'), Statistic: 'Sum', Period: ALARM_PERIOD,
    }, actions),
    AlarmAuditFailures: alarm('audit-failures',
      'An audit record could not be written (the credentials Lambdas then answer 503 and issue nothing; the event Lambda cannot add the AccessKeyId).', {
        Threshold: 1, ...metric(ns, 'AuditFailures'), Statistic: 'Sum', Period: ALARM_PERIOD,
      }, actions),
    AlarmThrottling: alarm('throttling', 'Something throttled the broker in 5 minutes: the credentials Lambdas (concurrency), a table, or STS.', {
      Threshold: 1,
      Metrics: [...throttleSeries, { Id: 'throttled', Label: 'throttled requests', Expression: throttleSeries.map(s => `FILL(${s.Id}, 0)`).join(' + '),
        ReturnData: true }],
    }, actions),
    AlarmEventLambdaErrors: alarm('event-lambda-errors',
      'The credentials-issued event Lambda failed (an invocation error): issuances may lack their AccessKeyId in the audit record.', {
        Threshold: 1, ...metric('AWS/Lambda', 'Errors', { FunctionName: { Ref: EVENTS_LAMBDA } }), Statistic: 'Sum', Period: ALARM_PERIOD,
      }, actions),
  }
}

/** The dashboard's widgets, as CloudWatch's dashboard body takes them; `${...}` are Fn::Sub variables. */
function dashboardBody (alarmIds) {
  const ns = '${Namespace}'
  const search = (dims, name) => ({ id: `e${dims.toLowerCase()}`, expression: `SEARCH('{"${ns}",${dims}} MetricName="${name}"', 'Sum', 300)`, label: '' })
  const widget = (title, metrics, extra = {}) => ({
    type: 'metric', width: 12, height: 6,
    properties: { title, region: '${AWS::Region}', view: 'timeSeries', stat: 'Sum', period: 300, metrics, ...extra },
  })
  const fn = name => `\${${name}}`
  return {
    widgets: [
      { type: 'alarm', width: 24, height: 3, properties: { title: 'Alarms', alarms: alarmIds.map(id => `\${${id}.Arn}`) } },
      widget('Requests by outcome', ['issued', 'denied', 'refused', 'error'].map(o => [ns, 'Requests', 'Outcome', o])),
      widget('Latency (ms)', [[ns, 'Latency', { stat: 'p50' }], [ns, 'Latency', { stat: 'p90' }], [ns, 'Latency', { stat: 'p99' }]]),
      widget('Issued by role', [[search('Role', 'Issued')]]),
      widget('Denied by condition', [[search('Condition', 'Denied')]]),
      widget('Refused tokens by reason', [[search('Reason', 'TokenRefused')]]),
      widget('Upstream errors by STS code', [[search('StsCode', 'UpstreamErrors')]]),
      widget('Failures: audit writes, event publishes, 5xx answers', [[ns, 'AuditFailures'], [ns, 'PublishFailures'], [ns, 'ServerErrors']]),
      widget('Cold starts by function', [[search('Function', 'ColdStart')]]),
      widget('HTTP API: requests, 4xx (429 throttled included), 5xx', [['AWS/ApiGateway', 'Count', 'ApiId', '${ApiId}'],
        ['AWS/ApiGateway', '4xx', 'ApiId', '${ApiId}'], ['AWS/ApiGateway', '5xx', 'ApiId', '${ApiId}']]),
      widget('Lambdas: errors and throttles', [...CREDENTIALS_LAMBDAS, EVENTS_LAMBDA].flatMap(name =>
        [['AWS/Lambda', 'Errors', 'FunctionName', fn(name)], ['AWS/Lambda', 'Throttles', 'FunctionName', fn(name)]])),
      widget('Tables: throttled reads and writes', TABLES.flatMap(name =>
        [['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', fn(name)], ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', fn(name)]])),
    ],
  }
}

function monitoring (config, resources) {
  const settings = monitoringSettings(config)
  const namespace = { 'Fn::Sub': 'TanukiSts/${AWS::StackName}' }
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Serverless::Function') continue
    const props = resource.Properties
    props.Environment = props.Environment ?? {}
    props.Environment.Variables = { ...props.Environment.Variables, BROKER_METRICS_NAMESPACE: namespace,
      BROKER_METRICS_PER_PROJECT: settings.perProject ? 'on' : 'off' }
  }
  // Architect's template has none of these; a template the plugin already ran on (tests apply it again) has.
  for (const id of Object.keys(resources)) if (id === 'AlarmTopic' || id.startsWith('AlarmEmail')) delete resources[id]
  if (!settings.topic) {
    resources.AlarmTopic = { Type: 'AWS::SNS::Topic', Properties: {} }
    settings.emails.forEach((email, i) => {
      resources[`AlarmEmail${i + 1}`] = { Type: 'AWS::SNS::Subscription', Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: email } }
    })
  }
  const actions = [settings.topic ?? { Ref: 'AlarmTopic' }]
  const made = alarms(namespace, actions)
  Object.assign(resources, made)
  const vars = { Namespace: namespace, ApiId: { Ref: 'HTTP' } }
  resources.Dashboard = {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: { 'Fn::Sub': '${AWS::StackName}' },
      DashboardBody: { 'Fn::Sub': [JSON.stringify(dashboardBody(Object.keys(made))), vars] },
    },
  }
}

function start ({ arc, cloudformation }) {
  const config = settings(arc['tanuki-sts'])
  const targetRoles = config['target-roles']
  if (!targetRoles || targetRoles.length === 0) {
    throw Error('app.arc: @tanuki-sts needs `target-roles <IAM role ARN pattern> ...`, the roles the broker may assume')
  }
  const broad = targetRoles.filter(r => !NARROW_TARGET_ROLE.test(r))
  if (broad.length > 0) {
    throw Error(`app.arc: @tanuki-sts target-roles ${broad.join(' ')} is too broad: name the account (12 digits) and begin the role ` +
      'name with literal characters, e.g. arn:aws:iam::123456789012:role/gitlab-* (a wildcard account or role/* would let the broker ' +
      'assume every role that trusts the account root)')
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
  // Deletion protection and point-in-time recovery: a DeleteTable by hand (console, CLI) is refused until protection
  // is turned off, and a table damaged by writes can be restored to any second of the last 35 days.
  for (const logicalId of TABLES) {
    if (!resources[logicalId]) throw Error(`tanuki-sts plugin: the ${logicalId} (@tables) is missing from the template`)
    Object.assign(resources[logicalId], { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' })
    Object.assign(resources[logicalId].Properties, {
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    })
  }
  // Only the credentials Lambdas run as `Role`, the role target roles trust (trust-policy prints it). The others never
  // issue: healthz and the catch-all get their logs only, the event Lambda its logs and the audit annotation.
  for (const name of [...CREDENTIALS_LAMBDAS, EVENTS_LAMBDA]) {
    if (!resources[name]) throw Error(`tanuki-sts plugin: the ${name} function is missing from the template`)
  }
  resources.PlainRole = plainRole([])
  resources.EventsRole = plainRole([
    { Sid: 'AnnotateAudit', Effect: 'Allow', Action: ['dynamodb:UpdateItem'], Resource: [tableArn('AuditTable')] },
  ])
  resources.ConsoleReadRole = plainRole(consoleStatements(false))
  resources.ConsoleWriteRole = plainRole(consoleStatements(true))
  const roleOf = name => name === EVENTS_LAMBDA ? 'EventsRole' : CONSOLE_READ_LAMBDAS.includes(name) ? 'ConsoleReadRole'
    : name === CONSOLE_WRITE_LAMBDA ? 'ConsoleWriteRole' : 'PlainRole'
  for (const [name, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Serverless::Function' || CREDENTIALS_LAMBDAS.includes(name)) continue
    const own = roleOf(name)
    resource.Properties.Role = { 'Fn::GetAtt': [own, 'Arn'] }
  }
  // The GetAtt / Ref already orders each of these after its role: a DependsOn saying so again is cfn-lint's W3005.
  if (resources.ParameterStorePolicy?.DependsOn === 'Role') delete resources.ParameterStorePolicy.DependsOn
  // `permissions-boundary <policy ARN>`: every role of the stack carries it, so a deploy role allowed to create and
  // change only roles with that boundary can never give a Lambda more than it allows (docs/deploying.md, "Bounding the deploy role").
  const boundary = config['permissions-boundary']
  if (boundary) {
    if (boundary.length !== 1 || !/^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/.test(boundary[0])) {
      throw Error(`app.arc: @tanuki-sts permissions-boundary must be one IAM policy ARN (arn:aws:iam::123456789012:policy/NAME), not "${boundary.join(' ')}"`)
    }
    for (const resource of Object.values(resources)) {
      if (resource.Type === 'AWS::IAM::Role') resource.Properties.PermissionsBoundary = boundary[0]
    }
  }
  logRetention(config, resources)
  // Every route's rate and burst: a flood of junk requests stops at API Gateway (429) instead of starting Lambdas.
  if (!resources.HTTP) throw Error('tanuki-sts plugin: the HTTP API (Resources.HTTP) is missing from the template')
  resources.HTTP.Properties.DefaultRouteSettings = throttle(config)
  accessLogs(config, resources)
  // Architect names the topic of `@events credentials-issued` CredentialsIssuedEventTopic; its Ref is the topic ARN,
  // which the broker publishes to directly (no SSM lookup at run time). The Lambda role may already sns:Publish to it.
  if (!resources[EVENTS_TOPIC]) throw Error(`tanuki-sts plugin: the ${EVENTS_TOPIC} (@events credentials-issued) is missing from the template`)
  for (const [name, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Serverless::Function') continue
    const props = resource.Properties
    props.Environment = props.Environment ?? {}
    if (!CONSOLE_READ_LAMBDAS.includes(name) && name !== CONSOLE_WRITE_LAMBDA) {
      for (const secret of CONSOLE_SECRETS) delete props.Environment.Variables?.[secret]
    }
    props.Environment.Variables = {
      ...props.Environment.Variables,
      BROKER_TABLE_MAPPINGS: { Ref: 'MappingsTable' },
      BROKER_TABLE_AUDIT: { Ref: 'AuditTable' },
      BROKER_TABLE_ISSUER_KEYS: { Ref: 'IssuerKeysTable' },
      BROKER_EVENTS_TOPIC: { Ref: EVENTS_TOPIC },
    }
  }
  monitoring(config, resources)
  return cloudformation
}

module.exports = { deploy: { start }, stsStatement, dynamoStatements }
