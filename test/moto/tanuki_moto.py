"""moto server, extended where Architect's template needs more than stock moto has; then runs it.

Usage: python test/moto/tanuki_moto.py -H 127.0.0.1 -p PORT   (moto.server's own flags)

The pipeline test deploys the broker with the real `arc deploy` against this server (docs/deploy-checks.md). Each
patch below fills one gap between moto (the version pinned in requirements.txt) and what CloudFormation does with the
template Architect sends, and does what AWS documents for it, no more:

1. The SAM transform (`Transform: AWS::Serverless-2016-10-31`): CloudFormation expands it server-side; moto does not,
   so the stack is expanded here with aws-sam-translator, AWS's own implementation of the transform.
2. CloudFormation models moto lacks: AWS::ApiGatewayV2::Api (with an OpenAPI Body, imported as AWS imports it),
   AWS::ApiGatewayV2::Stage, AWS::SNS::Subscription, and AWS::CloudWatch::Alarm (on one metric or on metric math, with
   PutMetricAlarm's documented rules on which; a name another alarm has is refused, not overwritten; GetAtt Arn, which
   the dashboard's body names). AWS::CloudWatch::Dashboard is moto's own model.
3. DynamoDB tables: TimeToLiveSpecification and PointInTimeRecoverySpecification are applied, and a table can be updated
   (moto's table model has no update, and leaves the stack without its table on any change).
4. IAM: an inline policy without `Version` is accepted, as IAM does (it defaults to 2008-10-17); Architect's
   ArcGlobalPolicy and ArcParameterStorePolicy have none. A template's inline policy is kept as JSON, so GetRolePolicy
   returns JSON (moto returned Python's repr of it). On update, a role's own inline policies and permissions boundary
   become the template's (moto keeps the old ones and ignores new ones).
5. Lambda: `LoggingConfig` is kept and returned by GetFunction (moto drops it).
"""
from __future__ import annotations

import json
import sys
from typing import Any

import boto3
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.awslambda.models import LambdaFunction
from moto.cloudwatch.exceptions import InvalidParameterCombination
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import AlreadyExistsException, UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.iam import policy_validation
from moto.iam.models import Role, iam_backends
from moto.server import main as moto_server_main
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


# 1. The SAM transform ------------------------------------------------------------------------------------------------

def expand_sam(template: dict[str, Any], region: str) -> dict[str, Any]:
    """The template as CloudFormation runs it: SAM resources expanded by AWS's translator, other resources unchanged."""
    transforms = template.get("Transform")
    names = transforms if isinstance(transforms, list) else [transforms]
    if SAM_TRANSFORM not in names:
        return template
    session = boto3.session.Session(region_name=region)
    return Translator({}, Parser(), boto_session=session).translate(template, parameter_values={})


_parse_template = cfn_models.Stack._parse_template


def _parse_and_expand(self: cfn_models.Stack) -> None:
    _parse_template(self)
    # __init__ parses before it sets region_name; the stack id (an ARN) has the region already.
    self.template_dict = expand_sam(self.template_dict, self.stack_id.split(":")[3])


cfn_models.Stack._parse_template = _parse_and_expand


# 2. Models moto's CloudFormation lacks ------------------------------------------------------------------------------

def camel(value: Any) -> Any:
    """CloudFormation's PascalCase properties as API Gateway V2's JSON API spells them (ThrottlingRateLimit -> throttlingRateLimit)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def openapi_for_import(body: dict[str, Any]) -> str:
    """An OpenAPI body as ImportApi reads it: `x-amazon-apigateway-any-method` is the route key ANY."""
    paths = {
        path: {("any" if method == "x-amazon-apigateway-any-method" else method): spec for method, spec in methods.items()}
        for path, methods in body.get("paths", {}).items()
    }
    return json.dumps({**body, "paths": paths})


class HttpApi(CloudFormationModel):
    """AWS::ApiGatewayV2::Api: Name / ProtocolType, or Body (an OpenAPI document, imported with its routes)."""

    __module__ = "moto.apigatewayv2.tanuki_moto"  # moto files each model under the service its module path names

    def __init__(self, account_id: str, region: str, api_id: str):
        self.account_id, self.region, self.api_id = account_id, region, api_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.api_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ["ApiId", "ApiEndpoint"]

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "ApiId":
            return self.api_id
        if attribute_name == "ApiEndpoint":
            return f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com"
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[misc, override]
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpApi:
        props = cloudformation_json["Properties"]
        backend = apigatewayv2_backends[account_id][region_name]
        api = backend.create_api(
            api_key_selection_expression=None, cors_configuration=None, description=props.get("Description"),
            disable_schema_validation=None, disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
            name=props.get("Name", resource_name), protocol_type=props.get("ProtocolType", "HTTP"),
            route_selection_expression=None, tags=props.get("Tags", {}), version=None,
        )
        if "Body" in props:
            api.import_api(openapi_for_import(props["Body"]), fail_on_warnings=bool(props.get("FailOnWarnings")))
        return cls(account_id, region_name, api.api_id)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: HttpApi, new_resource_name: str,  # type: ignore[misc, override]
                                        cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> HttpApi:
        props = cloudformation_json["Properties"]
        if "Body" in props:
            backend = apigatewayv2_backends[account_id][region_name]
            backend.reimport_api(original_resource.api_id, openapi_for_import(props["Body"]), fail_on_warnings=False)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[misc, override]
                                        account_id: str, region_name: str) -> None:
        apigatewayv2_backends[account_id][region_name].delete_api(resource_name)


class HttpApiStage(CloudFormationModel):
    """AWS::ApiGatewayV2::Stage: its route settings (throttling), access log settings and auto-deploy."""

    __module__ = "moto.apigatewayv2.tanuki_moto"

    def __init__(self, api_id: str, name: str):
        self.api_id, self.name = api_id, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[misc, override]
                                        account_id: str, region_name: str, **kwargs: Any) -> HttpApiStage:
        props = cloudformation_json["Properties"]
        config = camel({k: v for k, v in props.items() if k not in ("ApiId", "Tags")})
        config["stageName"] = props["StageName"]
        config["tags"] = props.get("Tags", {})
        apigatewayv2_backends[account_id][region_name].create_stage(props["ApiId"], config)
        return cls(props["ApiId"], props["StageName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: HttpApiStage, new_resource_name: str,  # type: ignore[misc, override]
                                        cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> HttpApiStage:
        apigatewayv2_backends[account_id][region_name].delete_stage(original_resource.api_id, original_resource.name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        apigatewayv2_backends[account_id][region_name].delete_stage(self.api_id, self.name)


class SnsSubscription(CloudFormationModel):
    """AWS::SNS::Subscription: TopicArn, Protocol, Endpoint."""

    __module__ = "moto.sns.tanuki_moto"

    def __init__(self, arn: str):
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[misc, override]
                                        account_id: str, region_name: str, **kwargs: Any) -> SnsSubscription:
        props = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        return cls(backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"]).arn)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: SnsSubscription, new_resource_name: str,  # type: ignore[misc, override]
                                        cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> SnsSubscription:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.arn)


SINGLE_METRIC = ("Namespace", "MetricName", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic")


def check_alarm(props: dict[str, Any]) -> None:
    """PutMetricAlarm's documented rules on what an alarm watches, which moto does not check: one metric (MetricName)
    or metric math (Metrics), not both; each query a MetricStat or an Expression; one query, the alarm's value, with
    ReturnData true (its default). Metric math itself (the expression's syntax, the ids it names) is not checked."""
    metrics = props.get("Metrics")
    if (metrics is None) == ("MetricName" not in props):
        raise InvalidParameterCombination("An alarm needs either MetricName or Metrics, not both.")
    if metrics is None:
        return
    if any(k in props for k in SINGLE_METRIC):
        raise InvalidParameterCombination(f"With Metrics, an alarm takes none of {', '.join(SINGLE_METRIC)}.")
    if any(("MetricStat" in q) == ("Expression" in q) for q in metrics):
        raise InvalidParameterCombination("Each query of Metrics has either MetricStat or Expression.")
    if sum(1 for q in metrics if q.get("ReturnData", True)) != 1:
        raise InvalidParameterCombination("Exactly one query of Metrics has ReturnData true: the alarm's value.")


def metric_data_queries(metrics: list[dict[str, Any]]) -> list[MetricDataQuery]:
    """An alarm's `Metrics` (metric math) as moto's PutMetricAlarm handler stores them, so DescribeAlarms returns them."""
    def stat(s: dict[str, Any]) -> MetricStat:
        m = s["Metric"]
        dims = [Dimension(d["Name"], d["Value"]) for d in m.get("Dimensions", [])]
        return MetricStat(Metric(m["MetricName"], m["Namespace"], dims), s["Period"], s["Stat"], s.get("Unit"))
    return [MetricDataQuery(q["Id"], q.get("Label"), q.get("Period"), q.get("ReturnData"), q.get("Expression"),
                            stat(q["MetricStat"]) if "MetricStat" in q else None) for q in metrics]


class MetricAlarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm: a metric alarm, on one metric (MetricName...) or on metric math (Metrics), made as
    PutMetricAlarm makes it (its properties are that call's parameters, name for name). Ref: the name; GetAtt: Arn."""

    __module__ = "moto.cloudwatch.tanuki_moto"

    def __init__(self, name: str, arn: str):
        self.name, self.arn = name, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def put(cls, name: str, p: dict[str, Any], account_id: str, region_name: str) -> MetricAlarm:
        check_alarm(p)
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            metric_data_queries=metric_data_queries(p["Metrics"]) if "Metrics" in p else None,
            comparison_operator=p["ComparisonOperator"], evaluation_periods=p["EvaluationPeriods"],
            datapoints_to_alarm=p.get("DatapointsToAlarm"), period=p.get("Period"), threshold=p.get("Threshold"),
            statistic=p.get("Statistic"), extended_statistic=p.get("ExtendedStatistic"), description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []), alarm_actions=p.get("AlarmActions", []), ok_actions=p.get("OKActions"),
            insufficient_data_actions=p.get("InsufficientDataActions"), unit=p.get("Unit"),
            actions_enabled=p.get("ActionsEnabled", True), treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"), tags=p.get("Tags"),
        )
        return cls(alarm.name, alarm.alarm_arn)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[misc, override]
                                        account_id: str, region_name: str, **kwargs: Any) -> MetricAlarm:
        # PutMetricAlarm would overwrite an alarm of that name (another stack's, say); CloudFormation refuses to.
        if resource_name in cloudwatch_backends[account_id][region_name].alarms:
            raise AlreadyExistsException(f"An alarm named {resource_name} already exists")
        return cls.put(resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: MetricAlarm, new_resource_name: str,  # type: ignore[misc, override]
                                        cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> MetricAlarm:
        if new_resource_name == original_resource.name:
            return cls.put(new_resource_name, cloudformation_json["Properties"], account_id, region_name)
        # A new name replaces the alarm: the new one first, then the old one goes.
        replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


# 3. DynamoDB tables: TTL, point-in-time recovery, updates ------------------------------------------------------------

def apply_table_settings(table: Table, props: dict[str, Any], account_id: str, region_name: str) -> Table:
    backend = dynamodb_backends[account_id][region_name]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(table.name, {"Enabled": ttl.get("Enabled", False), "AttributeName": ttl["AttributeName"]})
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr is not None:
        backend.update_continuous_backups(table.name, {"PointInTimeRecoveryEnabled": bool(pitr.get("PointInTimeRecoveryEnabled"))})
    table.deletion_protection_enabled = bool(props.get("DeletionProtectionEnabled", False))
    return table


_create_table = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_table_with_settings(cls: type[Table], resource_name: str, cloudformation_json: dict[str, Any],
                                account_id: str, region_name: str, **kwargs: Any) -> Table:
    table = _create_table(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    return apply_table_settings(table, cloudformation_json["Properties"], account_id, region_name)


def _update_table(cls: type[Table], original_resource: Table, new_resource_name: str, cloudformation_json: dict[str, Any],
                  account_id: str, region_name: str) -> Table:
    # In place: what the broker's template may change on a table (keys and indexes never change in place in AWS either).
    return apply_table_settings(original_resource, cloudformation_json["Properties"], account_id, region_name)


Table.create_from_cloudformation_json = classmethod(_create_table_with_settings)  # type: ignore[method-assign, assignment]
Table.update_from_cloudformation_json = classmethod(_update_table)  # type: ignore[method-assign, assignment]


# 4. IAM: inline policies without Version; a role's policies and boundary on update -----------------------------------

def _validate_version(self: policy_validation.IAMPolicyDocumentValidator) -> None:
    # IAM accepts a policy with no Version (the 2008-10-17 language); one that has a Version must say 2012-10-17.
    assert self._policy_json.get("Version", "2012-10-17") in ("2012-10-17", "2008-10-17")


policy_validation.IAMPolicyDocumentValidator._validate_version = _validate_version  # type: ignore[method-assign]


def _put_policy_as_json(self: Role, policy_name: str, policy_json: Any) -> None:
    # A template's PolicyDocument arrives as a dict; GetRolePolicy must return it as JSON, as IAM does (not Python's repr).
    self.policies[policy_name] = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)


Role.put_policy = _put_policy_as_json  # type: ignore[method-assign]

_update_role = Role.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _update_role_policies(cls: type[Role], original_resource: Role, new_resource_name: str, cloudformation_json: dict[str, Any],
                          account_id: str, region_name: str) -> Role:
    role = _update_role(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    props = cloudformation_json["Properties"]
    backend = iam_backends[account_id][get_partition(region_name)]
    # The role's own Policies are replaced; those an AWS::IAM::Policy resource attached to it stay.
    attached = {p.policy_name for p in backend.inline_policies.values() if role.name in p.role_names}
    role.policies = {name: doc for name, doc in role.policies.items() if name in attached}
    for policy in props.get("Policies", []):
        role.put_policy(policy["PolicyName"], policy["PolicyDocument"])
    role.permissions_boundary_arn = props.get("PermissionsBoundary") or None
    return backend.get_role(role.name)


Role.update_from_cloudformation_json = classmethod(_update_role_policies)  # type: ignore[method-assign, assignment]


# 5. Lambda: LoggingConfig --------------------------------------------------------------------------------------------

_create_function = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_update_function = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_function_configuration = LambdaFunction.get_configuration


def _create_function_with_logging(cls: type[LambdaFunction], resource_name: str, cloudformation_json: dict[str, Any],
                                  account_id: str, region_name: str, **kwargs: Any) -> LambdaFunction:
    fn = _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    fn.tanuki_logging_config = cloudformation_json["Properties"].get("LoggingConfig")
    return fn


def _update_function_with_logging(cls: type[LambdaFunction], original_resource: LambdaFunction, new_resource_name: str,
                                  cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> LambdaFunction:
    fn = _update_function(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    fn.tanuki_logging_config = cloudformation_json["Properties"].get("LoggingConfig")
    return fn


def _configuration_with_logging(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
    config = _function_configuration(self, *args, **kwargs)
    logging_config = getattr(self, "tanuki_logging_config", None)
    if logging_config:
        config["LoggingConfig"] = logging_config
    return config


LambdaFunction.create_from_cloudformation_json = classmethod(_create_function_with_logging)  # type: ignore[method-assign, assignment]
LambdaFunction.update_from_cloudformation_json = classmethod(_update_function_with_logging)  # type: ignore[method-assign, assignment]
LambdaFunction.get_configuration = _configuration_with_logging  # type: ignore[method-assign]


if __name__ == "__main__":
    moto_server_main(sys.argv[1:])
