"""Azure Monitor: the region's Log Analytics workspace and action group, and the metric alerts on the account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import monitor, operationalinsights

from settings.catalog import (
    PROVISIONED_UTILIZATION_METRIC,
    REQUESTS_METRIC,
    THROTTLED_STATUS_CODE,
    TIME_TO_RESPONSE_METRIC,
)

from .shared import data_opts, delete_lock

ACCOUNT_METRIC_NAMESPACE = "Microsoft.CognitiveServices/accounts"


@dataclass(frozen=True)
class MonitoringArgs:
    """A workspace to create (name, retention) or an existing one by id, and who to e-mail when an alert fires."""

    base_name: str
    location: str
    resource_group_name: pulumi.Input[str]
    retention_days: int
    existing_workspace_id: str | None = None
    alert_emails: Sequence[str] = ()
    protect: bool = False
    locks: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    """The region's Log Analytics workspace (request, audit and usage logs stay in the region) and action group."""

    workspace_id: pulumi.Output[str]
    """The workspace every diagnostic setting of the region sends to."""
    workspace_customer_id: pulumi.Output[str] | None
    """The workspace's customer id (what `az monitor log-analytics query` takes); None for an existing workspace."""
    action_group_id: pulumi.Output[str] | None
    """The action group alerts notify, or None when no e-mail receivers are configured."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:monitoring:Monitoring", name, None, opts)
        if args.existing_workspace_id is not None:
            self.workspace_id = pulumi.Output.from_input(args.existing_workspace_id)
            self.workspace_customer_id = None
        else:
            workspace = operationalinsights.Workspace(
                f"{name}-workspace", workspace_name=f"log-{args.base_name}",
                resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags),
                sku={"name": "PerGB2018"}, retention_in_days=args.retention_days,
                # Entra ID only for ingestion and queries; access follows the resource's own RBAC.
                features={"disable_local_auth": True, "enable_log_access_using_only_resource_permissions": True},
                opts=data_opts(self, args.protect))
            self.workspace_id = workspace.id
            self.workspace_customer_id = workspace.customer_id
            if args.locks:
                delete_lock(f"{name}-workspace-lock", workspace.id, "audit and request logs", parent=self)
        self.action_group_id = None
        if args.alert_emails:
            group = monitor.ActionGroup(
                f"{name}-action-group", action_group_name=f"ag-{args.base_name}",
                resource_group_name=args.resource_group_name, location="global", enabled=True,
                group_short_name=args.base_name.replace("-", "")[:12], tags=dict(args.tags),
                email_receivers=[{"name": f"email-{i}", "email_address": email, "use_common_alert_schema": True}
                                 for i, email in enumerate(args.alert_emails)],
                opts=pulumi.ResourceOptions(parent=self))
            self.action_group_id = group.id
        self.register_outputs({"workspaceId": self.workspace_id, "actionGroupId": self.action_group_id})


@dataclass(frozen=True)
class AlertsArgs:
    """The account to watch, its provisioned deployments, the metrics and thresholds, and the action group to
    notify."""

    base_name: str
    resource_group_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    action_group_id: pulumi.Input[str]
    # How often each rule is evaluated, and over which window (ISO 8601 durations, e.g. PT1M and PT5M).
    frequency: str
    window: str
    # Metric names (settings/catalog.py names their source) and the 5xx status codes counted as server errors.
    requests_metric: str
    latency_metric: str
    server_error_status_codes: Sequence[str]
    # Throttled (429) and server-error requests per window, average milliseconds to response, PTU utilization %.
    throttled_requests_threshold: int
    server_errors_threshold: int
    latency_ms_threshold: int
    provisioned_utilization_percent: int
    provisioned_deployments: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rule:
    key: str
    description: str
    severity: int
    metric: str
    aggregation: str
    threshold: int
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()


def alert_rules(args: AlertsArgs) -> list[_Rule]:
    """The rules for one account. Metric names and dimensions: settings/catalog.py (Microsoft's supported-metrics
    page); the legacy ServerErrors metric is marked "Do not use for Azure OpenAI service" there, so server errors are
    AzureOpenAIRequests filtered on 5xx status codes."""
    rules = [
        _Rule("throttling", "Requests throttled with HTTP 429: quota or PTU capacity exhausted", 2,
              args.requests_metric, REQUESTS_METRIC.aggregation, args.throttled_requests_threshold,
              (("StatusCode", (THROTTLED_STATUS_CODE,)),)),
        _Rule("server-errors", "Requests Azure OpenAI answered with a server error (HTTP 5xx)", 1,
              args.requests_metric, REQUESTS_METRIC.aggregation, args.server_errors_threshold,
              (("StatusCode", tuple(args.server_error_status_codes)),)),
        _Rule("latency", "Average time to response above the threshold (milliseconds)", 3,
              args.latency_metric, TIME_TO_RESPONSE_METRIC.aggregation, args.latency_ms_threshold),
    ]
    if args.provisioned_deployments:
        rules.append(_Rule(
            "ptu-utilization", "Provisioned throughput utilization above the threshold (percent): requests beyond "
            "it spill over to the pay-per-token deployment or are throttled", 2,
            PROVISIONED_UTILIZATION_METRIC.name, PROVISIONED_UTILIZATION_METRIC.aggregation,
            args.provisioned_utilization_percent,
            (("ModelDeploymentName", tuple(args.provisioned_deployments)),)))
    return rules


class Alerts(pulumi.ComponentResource):
    """Metric alerts on one account: throttling (HTTP 429), server errors (5xx), time to response, and the
    utilization of its provisioned deployments."""

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:monitoring:Alerts", name, None, opts)
        self.alert_ids: dict[str, pulumi.Output[str]] = {}
        for rule in alert_rules(args):
            alert = monitor.MetricAlert(
                f"{name}-{rule.key}", rule_name=f"alert-{args.base_name}-{rule.key}",
                resource_group_name=args.resource_group_name, location="global", description=rule.description,
                severity=rule.severity, enabled=True, scopes=[args.account_id], evaluation_frequency=args.frequency,
                window_size=args.window, auto_mitigate=True, tags=dict(args.tags),
                # The criteria are a union type: only the Args class tells the SDK to send `odata.type`/`allOf`.
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion", name=rule.key, metric_name=rule.metric,
                        metric_namespace=ACCOUNT_METRIC_NAMESPACE, operator="GreaterThan", threshold=rule.threshold,
                        time_aggregation=rule.aggregation,
                        dimensions=[monitor.MetricDimensionArgs(name=dimension, operator="Include",
                                                                values=list(values))
                                    for dimension, values in rule.dimensions])],
                ),
                actions=[{"action_group_id": args.action_group_id}],
                opts=pulumi.ResourceOptions(parent=self))
            self.alert_ids[rule.key] = alert.id
        self.register_outputs({"alertIds": self.alert_ids})
