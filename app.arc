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

@tables-indexes
audit
  project *String
  at **String
  name byProject

@typescript
base-runtime nodejs22.x
esbuild-config esbuild.config.js

@plugins
architect/plugin-typescript
tanuki-sts
  src src/plugins/tanuki-sts.js

# Target roles the broker may assume (IAM Resource patterns); narrow these for your accounts.
@tanuki-sts
target-roles arn:aws:iam::*:role/*
