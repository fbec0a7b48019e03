"""Prints, as one JSON document, what a stack deployed to the emulator holds, read back through the AWS APIs (boto3).

Usage: python test/moto/describe_stack.py ENDPOINT_URL REGION STACK_NAME
The pipeline test asserts on this: one process for every read, instead of one AWS CLI call per resource.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer


def describe(endpoint: str, region: str, stack_name: str) -> dict[str, Any]:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=region,
                            aws_access_key_id="tanuki-describe", aws_secret_access_key="tanuki-describe")

    cfn, iam, ddb, lam = client("cloudformation"), client("iam"), client("dynamodb"), client("lambda")
    sns, api, logs, ssm = client("sns"), client("apigatewayv2"), client("logs"), client("ssm")
    cloudwatch = client("cloudwatch")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    by_type: dict[str, dict[str, str]] = {}
    for r in resources:
        by_type.setdefault(r["ResourceType"], {})[r["LogicalResourceId"]] = r.get("PhysicalResourceId", "")

    def role(name: str) -> dict[str, Any]:
        got = iam.get_role(RoleName=name)["Role"]
        policies = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                    for p in iam.list_role_policies(RoleName=name)["PolicyNames"]}
        return {"name": name, "arn": got["Arn"], "boundary": got.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"),
                "policies": policies}

    def table(name: str) -> dict[str, Any]:
        t = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        items = ddb.scan(TableName=name, ConsistentRead=True)["Items"]
        return {
            "name": name, "keys": t["KeySchema"], "deletionProtection": t.get("DeletionProtectionEnabled", False),
            "indexes": {i["IndexName"]: i["KeySchema"] for i in t.get("GlobalSecondaryIndexes", [])},
            "projections": {i["IndexName"]: i["Projection"] for i in t.get("GlobalSecondaryIndexes", [])},
            "ttl": ttl, "pitr": pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
            "items": [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in items],
        }

    def function(name: str) -> dict[str, Any]:
        c = lam.get_function(FunctionName=name)["Configuration"]
        return {"name": name, "runtime": c["Runtime"], "role": c["Role"], "loggingConfig": c.get("LoggingConfig"),
                "environment": c.get("Environment", {}).get("Variables", {})}

    def topic(arn: str) -> dict[str, Any]:
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        return {"arn": arn, "subscriptions": [{"protocol": s["Protocol"], "endpoint": s["Endpoint"]} for s in subs]}

    def http_api(api_id: str) -> dict[str, Any]:
        routes = api.get_routes(ApiId=api_id)["Items"]
        integrations = {i["IntegrationId"]: i.get("IntegrationUri") for i in api.get_integrations(ApiId=api_id)["Items"]}
        stages = api.get_stages(ApiId=api_id)["Items"]
        return {
            "id": api_id,
            "routes": {r["RouteKey"]: integrations.get(r.get("Target", "").removeprefix("integrations/")) for r in routes},
            "stages": {s["StageName"]: {"defaultRouteSettings": s.get("DefaultRouteSettings"),
                                        "accessLogSettings": s.get("AccessLogSettings")} for s in stages},
        }

    def alarm(name: str) -> dict[str, Any]:
        got = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        # DescribeAlarms' own fields, but its state and timestamps (which say nothing about the template).
        return {k: v for k, v in got.items() if not k.startswith(("State", "AlarmConfigurationUpdated"))}

    def dashboard(name: str) -> dict[str, Any]:
        got = cloudwatch.get_dashboard(DashboardName=name)
        return {"name": got["DashboardName"], "arn": got["DashboardArn"], "body": json.loads(got["DashboardBody"])}

    # The template as the deploy sent it, before the SAM transform (botocore decodes a JSON body itself).
    body = cfn.get_template(StackName=stack_name)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    groups = logs.describe_log_groups()["logGroups"]
    return {
        "name": stack["StackName"],
        "template": template,
        "status": stack["StackStatus"],
        "resources": {r["LogicalResourceId"]: r["ResourceType"] for r in resources},
        "roles": {k: role(v) for k, v in by_type.get("AWS::IAM::Role", {}).items()},
        "tables": {k: table(v) for k, v in by_type.get("AWS::DynamoDB::Table", {}).items()},
        "functions": {k: function(v) for k, v in by_type.get("AWS::Lambda::Function", {}).items()},
        "topics": {k: topic(v) for k, v in by_type.get("AWS::SNS::Topic", {}).items()},
        "apis": {k: http_api(v) for k, v in by_type.get("AWS::ApiGatewayV2::Api", {}).items()},
        "logGroups": {k: next(({"name": g["logGroupName"], "arn": g["arn"], "retentionInDays": g.get("retentionInDays")}
                               for g in groups if g["logGroupName"] == v), None)
                      for k, v in by_type.get("AWS::Logs::LogGroup", {}).items()},
        "alarms": {k: alarm(v) for k, v in by_type.get("AWS::CloudWatch::Alarm", {}).items()},
        "dashboards": {k: dashboard(v) for k, v in by_type.get("AWS::CloudWatch::Dashboard", {}).items()},
        "parameters": {v: ssm.get_parameter(Name=v)["Parameter"]["Value"] for v in by_type.get("AWS::SSM::Parameter", {}).values()},
    }


if __name__ == "__main__":
    endpoint_url, region_name, name = sys.argv[1:4]
    print(json.dumps(describe(endpoint_url, region_name, name), indent=1, default=str))
