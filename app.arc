@app
tanuki-sts

@aws
runtime typescript
region us-east-1
timeout 15
memory 512

@http
post /credentials
get /credentials
get /healthz
# The web console (src/console): Lambdas of their own, so the credentials Lambdas never load its code. API Gateway
# (and sandbox) take these over the catch-all below: a more specific route wins.
get /console
get /console/*
post /console/*
any /*

@events
credentials-issued

# No static bucket: the broker serves no files, and Architect's default one is a public-read S3 website.
@static
disabled

@tables
mappings
  scope *String
  role **String

audit
  pk *String
  sk **String
  expiresAt TTL

# One item per trusted issuer: its verified key set, where it came from and when (docs/issuer-keys.md).
issuer-keys
  issuer *String

# byProject keeps only keys: its readers (audit list --project, stats --project, the console) read the records by key.
# A full copy would take two more write units per issuance, and the event's update another two (docs/performance.md).
@tables-indexes
audit
  project *String
  at **String
  name byProject
  projection keys

@typescript
base-runtime nodejs22.x
esbuild-config esbuild.config.js

@plugins
architect/plugin-typescript
tanuki-sts
  src src/plugins/tanuki-sts.js

# Target roles the broker may assume (IAM Resource patterns): replace 111122223333 with your accounts. Each pattern
# names its account and begins the role name with literal characters; a deploy refuses a wildcard account or role/*.
# gitlab-*: the roles CI jobs ask for; tanuki-sts-*: the broker's own deploy and mappings roles (docs/deploying.md).
@tanuki-sts
target-roles arn:aws:iam::111122223333:role/gitlab-* arn:aws:iam::111122223333:role/tanuki-sts-*
