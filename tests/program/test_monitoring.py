"""Azure Monitor under the mock engine: diagnostic settings, the workspace (created or existing) and the metric alerts
on the account."""

from __future__ import annotations

from offline.engine import Graph
from settings.shapes import ACCOUNT, ACTION_GROUP, DIAGNOSTIC_SETTING, METRIC_ALERT, VAULT, WORKSPACE
from tests.program.helpers import one


def test_diagnostics_send_required_categories_to_the_regions_workspace(prod_graph: Graph) -> None:
    for code in ("swc", "frc"):
        workspace = one(prod_graph, WORKSPACE, code)
        account_diag = one(prod_graph, DIAGNOSTIC_SETTING, f"{code}-openai-diagnostics").inputs
        vault_diag = one(prod_graph, DIAGNOSTIC_SETTING, f"{code}-cmk-diagnostics").inputs
        assert account_diag["resourceUri"] == one(prod_graph, ACCOUNT, code).id
        assert vault_diag["resourceUri"] == one(prod_graph, VAULT, code).id
        assert account_diag["workspaceId"] == vault_diag["workspaceId"] == workspace.id
        assert [log["category"] for log in account_diag["logs"]] == [
            "Audit", "RequestResponse", "AzureOpenAIRequestUsage", "Trace"]
        assert vault_diag["logs"] == [{"categoryGroup": "audit", "enabled": True}]
        assert account_diag["metrics"] == vault_diag["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_workspace_retention_and_entra_only_access(prod_graph: Graph, dev_graph: Graph) -> None:
    workspace = one(prod_graph, WORKSPACE, "swc").inputs
    assert workspace["retentionInDays"] == 365 and workspace["sku"] == {"name": "PerGB2018"}
    assert workspace["features"]["disableLocalAuth"] is True
    assert one(dev_graph, WORKSPACE).inputs["retentionInDays"] == 30


def test_alerts_watch_throttling_server_errors_latency_and_provisioned_utilization(prod_graph: Graph,
                                                                                   dev_graph: Graph) -> None:
    alerts = {a.inputs["ruleName"]: a.inputs for a in prod_graph.by_type(METRIC_ALERT) if "swc" in a.name}
    assert set(alerts) == {"alert-aoai-prod-swc-throttling", "alert-aoai-prod-swc-server-errors",
                           "alert-aoai-prod-swc-latency", "alert-aoai-prod-swc-ptu-utilization"}
    throttling = alerts["alert-aoai-prod-swc-throttling"]
    assert throttling["scopes"] == [one(prod_graph, ACCOUNT, "swc").id]
    (criterion,) = throttling["criteria"]["allOf"]
    assert throttling["criteria"]["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    assert criterion["metricName"] == "AzureOpenAIRequests" and criterion["threshold"] == 10
    assert criterion["dimensions"] == [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]
    # Microsoft marks ServerErrors "Do not use for Azure OpenAI service": 5xx answers of AzureOpenAIRequests instead.
    (errors,) = alerts["alert-aoai-prod-swc-server-errors"]["criteria"]["allOf"]
    assert (errors["metricName"], errors["timeAggregation"], errors["threshold"]) == ("AzureOpenAIRequests", "Total", 5)
    assert errors["dimensions"] == [{"name": "StatusCode", "operator": "Include",
                                     "values": ["500", "502", "503", "504"]}]
    (latency,) = alerts["alert-aoai-prod-swc-latency"]["criteria"]["allOf"]
    assert (latency["metricName"], latency["timeAggregation"]) == ("AzureOpenAITimeToResponse", "Average")
    (ptu,) = alerts["alert-aoai-prod-swc-ptu-utilization"]["criteria"]["allOf"]
    assert (ptu["metricName"], ptu["timeAggregation"], ptu["threshold"]) == (
        "AzureOpenAIProvisionedManagedUtilizationV2", "Average", 80)
    assert ptu["dimensions"] == [{"name": "ModelDeploymentName", "operator": "Include", "values": ["chat"]}]
    group = one(prod_graph, ACTION_GROUP, "swc")
    assert all(a["actions"] == [{"actionGroupId": group.id}] for a in alerts.values())
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == [
        "platform-oncall@contoso.com", "security-operations@contoso.com"]
    assert dev_graph.by_type(METRIC_ALERT) == []
