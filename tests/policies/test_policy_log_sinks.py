"""Log sinks and alerting: workspace-only diagnostic settings, a workspace that keeps every log and takes Entra-only
ingestion, alerts that reach someone at thresholds that fire; and the protected-material content filters."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import arm, environment, stack
from policy_harness import Res, check_resource, check_stack, messages

WORKSPACE = arm("rg-swc", "Microsoft.OperationalInsights/workspaces/log-swc")


# --- aoai-diagnostic-sinks ----------------------------------------------------------------------------------------

def sinks(**props: Any) -> list[str]:
    return check_resource("aoai-diagnostic-sinks", t.DIAGNOSTIC_SETTING, {"workspaceId": WORKSPACE, **props},
                          name="diag")


def test_a_setting_sending_to_the_workspace_only_passes() -> None:
    assert sinks() == []


@pytest.mark.parametrize("extra", [
    {"storageAccountId": arm("rg-x", "Microsoft.Storage/storageAccounts/exfil")},
    {"eventHubAuthorizationRuleId": arm("rg-x", "Microsoft.EventHub/namespaces/n/authorizationrules/r"),
     "eventHubName": "logs"},
    {"marketplacePartnerId": arm("rg-x", "Microsoft.Datadog/monitors/dd")},
])
def test_a_second_destination_is_refused(extra: dict[str, Any]) -> None:
    (message,) = sinks(**extra)
    assert message.startswith(f"Remove {' and '.join(repr(k) for k in extra)} from diagnostic setting 'diag'")


def test_a_setting_without_a_workspace_is_refused() -> None:
    (message,) = check_resource("aoai-diagnostic-sinks", t.DIAGNOSTIC_SETTING, {"logs": []}, name="diag")
    assert message == "Set workspaceId on diagnostic setting 'diag' to the approved Log Analytics workspace of its region."


# --- aoai-workspace-ingestion -------------------------------------------------------------------------------------

def ingestion(props: dict[str, Any], **config: Any) -> list[str]:
    base = {"retentionInDays": 365.0, "features": {"disableLocalAuth": True}}
    base.update(props)
    return check_resource("aoai-workspace-ingestion", t.WORKSPACE, base, name="logs", **config)


def test_an_uncapped_entra_only_workspace_passes() -> None:
    assert ingestion({}) == []
    assert ingestion({"workspaceCapping": {"dailyQuotaGb": -1.0}}) == []


def test_a_daily_cap_is_refused_unless_allowed_at_the_minimum() -> None:
    (message,) = ingestion({"workspaceCapping": {"dailyQuotaGb": 5.0}})
    assert message.startswith("Remove workspaceCapping.dailyQuotaGb (5 GB) from Log Analytics workspace 'logs'")
    (message,) = ingestion({"workspaceCapping": {"dailyQuotaGb": 5.0}}, allowDailyCap=True)
    assert message.startswith("Raise workspaceCapping.dailyQuotaGb on Log Analytics workspace 'logs' to at least 100")
    assert ingestion({"workspaceCapping": {"dailyQuotaGb": 500.0}}, allowDailyCap=True) == []
    (message,) = ingestion({"workspaceCapping": {"dailyQuotaGb": "5"}})
    assert "to a number or leave it out (it is '5')" in message


def test_shared_key_ingestion_and_early_purge_are_refused() -> None:
    (message,) = ingestion({"features": {"disableLocalAuth": False}})
    assert message.startswith("Set features.disableLocalAuth to true on Log Analytics workspace 'logs' (it is false)")
    assert ingestion({"features": {}}, requireEntraIngestion=False) == []
    (message,) = ingestion({"features": {"disableLocalAuth": True, "immediatePurgeDataOn30Days": True}})
    assert message.startswith("Set features.immediatePurgeDataOn30Days to false")


# --- aoai-alert-notifies ------------------------------------------------------------------------------------------

def notifies(env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack("aoai-alert-notifies", stack(env), **config))


def test_an_alert_reaching_an_enabled_group_with_receivers_passes() -> None:
    assert notifies(environment()) == []


def test_a_disabled_or_empty_action_group_does_not_count() -> None:
    env = environment()
    env["action_group"].props["enabled"] = False
    (message,) = notifies(env)
    assert message == ("Make metric alert 'swc-throttling' notify an enabled action group with at least one receiver "
                       "(action group 'swc-action-group' is not enabled (enabled false)): an alert that reaches no one "
                       "is not monitoring.")
    env = environment()
    env["action_group"].props["emailReceivers"] = []
    (message,) = notifies(env)
    assert "action group 'swc-action-group' has no receivers" in message


def test_an_alert_without_group_or_disabled_is_refused() -> None:
    env = environment()
    env["alert"].props["actions"] = []
    (message,) = notifies(env)
    assert "(it names no action group)" in message
    env = environment()
    env["alert"].props["enabled"] = False
    (message,) = notifies(env)
    assert message == "Set enabled to true on metric alert 'swc-throttling': a disabled alert notifies no one."
    assert notifies(env, requireEnabledAlerts=False) == []


def test_a_central_action_group_may_be_approved() -> None:
    env = environment()
    soc = arm("rg-soc", "Microsoft.Insights/actionGroups/ag-soc")
    env["alert"].props["actions"] = [{"actionGroupId": soc}]
    assert notifies(env) != []
    assert notifies(env, approvedActionGroupIds=[soc]) == []


def test_activity_log_and_log_query_alerts_are_judged_too() -> None:
    env = environment()
    group = env["action_group"].props["id"]
    env["activity"] = Res(t.ACTIVITY_LOG_ALERT, "swc-activity", {
        "id": arm("rg-swc", "Microsoft.Insights/activityLogAlerts/a"), "enabled": True,
        "actions": {"actionGroups": [{"actionGroupId": group}]}})
    env["query"] = Res(t.SCHEDULED_QUERY_RULE, "swc-query", {
        "id": arm("rg-swc", "Microsoft.Insights/scheduledQueryRules/q"), "enabled": True,
        "actions": {"actionGroups": [group]}})
    assert notifies(env) == []
    env["query"].props["actions"] = {"actionGroups": []}
    (message,) = notifies(env)
    assert message.startswith("Make log alert 'swc-query' notify")


# --- aoai-alert-thresholds ----------------------------------------------------------------------------------------

def criteria(metric: str, threshold: Any, **extra: Any) -> dict[str, Any]:
    return {"criteria": {"allOf": [{"metricName": metric, "threshold": threshold, "operator": "GreaterThan",
                                    "criterionType": "StaticThresholdCriterion", **extra}]}}


def thresholds(props: dict[str, Any], **config: Any) -> list[str]:
    return check_resource("aoai-alert-thresholds", t.METRIC_ALERT, props, name="alert", **config)


def test_thresholds_within_their_bounds_pass() -> None:
    assert thresholds(criteria("AzureOpenAIRequests", 10.0)) == []
    assert thresholds(criteria("AzureOpenAITimeToResponse", 20000.0)) == []


def test_a_threshold_so_high_it_never_fires_is_refused() -> None:
    (message,) = thresholds(criteria("AzureOpenAIRequests", 1000000.0))
    assert message.startswith("Set the threshold of the 'AzureOpenAIRequests' criterion of metric alert 'alert' "
                              "between 1 and 100 (it is 1000000)")
    assert thresholds(criteria("AzureOpenAIRequests", 1000000.0),
                      thresholdBounds={"AzureOpenAIRequests": {"min": 1, "max": 2000000}}) == []


def test_a_metric_without_bounds_and_a_malformed_threshold_are_refused() -> None:
    (message,) = thresholds(criteria("TokenTransaction", 5.0))
    assert message.startswith("Add bounds for metric 'TokenTransaction' to thresholdBounds")
    assert thresholds(criteria("TokenTransaction", 5.0), requireBounds=False) == []
    (message,) = thresholds(criteria("AzureOpenAIRequests", "5"))
    assert message == ("Set the threshold of the 'AzureOpenAIRequests' criterion of metric alert 'alert' to a number "
                       "(it is '5').")


def test_an_alert_on_a_metric_microsoft_says_not_to_use_has_no_bounds_and_is_refused() -> None:
    (message,) = thresholds(criteria("ServerErrors", 5.0))
    assert message.startswith("Add bounds for metric 'ServerErrors' to thresholdBounds")
    (message,) = thresholds(criteria("AzureOpenAIProvisionedManagedUtilizationV2", 99.0))
    assert message.startswith("Set the threshold of the 'AzureOpenAIProvisionedManagedUtilizationV2' criterion of "
                              "metric alert 'alert' between 50 and 95 (it is 99)")


def test_dynamic_thresholds_need_enough_sensitivity() -> None:
    props = criteria("AzureOpenAIRequests", None, criterionType="DynamicThresholdCriterion", alertSensitivity="Low")
    (message,) = thresholds(props)
    assert message.startswith("Set alertSensitivity of the 'AzureOpenAIRequests' criterion of metric alert 'alert' to "
                              "'Medium' or 'High' (it is 'Low')")


# --- aoai-protected-material-filter -------------------------------------------------------------------------------

def rai(protected: bool = True, blocking: bool = True) -> dict[str, Any]:
    filters = [{"name": n, "source": "Completion", "enabled": protected, "blocking": blocking}
               for n in ("Protected Material Text", "Protected Material Code")]
    filters.append({"name": "Hate", "source": "Prompt", "enabled": True, "blocking": True,
                    "severityThreshold": "Medium"})
    return {"properties": {"basePolicyName": "Microsoft.DefaultV2", "contentFilters": filters}}


def material(props: dict[str, Any], **config: Any) -> list[str]:
    return check_resource("aoai-protected-material-filter", t.RAI_POLICY, props, name="filter", **config)


def test_enabled_blocking_protected_material_filters_pass() -> None:
    assert material(rai()) == []


def test_protected_material_filters_off_or_annotating_are_refused() -> None:
    text, code = material(rai(protected=False))
    assert text.startswith("Enable and block the 'Protected Material Text' filter on Completion in content filter "
                           "(RAI policy) 'filter' (it is enabled false, blocking true)")
    assert code.startswith("Enable and block the 'Protected Material Code' filter")
    assert len(material(rai(blocking=False))) == 2
    props = rai()
    props["properties"]["contentFilters"] = props["properties"]["contentFilters"][2:]
    assert all("(it is missing)" in m for m in material(props))
    assert material(props, requireProtectedMaterial=False) == []
