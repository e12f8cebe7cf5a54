"""Monitoring: diagnostic settings per account and vault, workspace retention, the throttling alert."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import arm, environment, stack
from policy_harness import Res, check_resource, check_stack, messages


def diagnostics(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-diagnostic-settings", stack(env), **kw))


def test_audit_categories_and_metrics_to_the_stacks_workspace_pass() -> None:
    assert diagnostics(environment()) == []


def test_an_account_without_diagnostic_setting_is_reported() -> None:
    env = environment()
    del env["account_diag"]
    (finding,) = check_stack("aoai-diagnostic-settings", stack(env))
    assert finding.urn == env["account"].urn
    assert finding.message.startswith("Add a diagnostic setting to Azure OpenAI account 'swc-account' (resourceUri = "
                                      "its id) that sends 'Audit' and 'RequestResponse' (or category group "
                                      "'allLogs') and AllMetrics")


def test_a_missing_or_disabled_category_is_reported() -> None:
    env = environment()
    env["account_diag"].props["logs"] = [{"category": "Audit", "enabled": True},
                                         {"category": "RequestResponse", "enabled": False}]
    assert diagnostics(env) == [
        "Enable the log categories 'RequestResponse' (or category group 'allLogs') in a diagnostic setting of "
        "Azure OpenAI account 'swc-account': they are its audit trail."]


def test_a_category_group_satisfies_the_requirement() -> None:
    env = environment()
    env["account_diag"].props["logs"] = [{"categoryGroup": "allLogs", "enabled": True}]
    env["vault_diag"].props["logs"] = [{"category": "AuditEvent", "enabled": True}]
    assert diagnostics(env) == []


def test_a_vault_without_audit_events_is_reported() -> None:
    env = environment()
    env["vault_diag"].props["logs"] = []
    (message,) = diagnostics(env)
    assert message.startswith("Enable the log categories 'AuditEvent' (or category group 'audit' or 'allLogs') "
                              "in a diagnostic setting of Key Vault 'swc-vault'")


def test_metrics_are_required_unless_configured_otherwise() -> None:
    env = environment()
    env["vault_diag"].props["metrics"] = [{"category": "AllMetrics", "enabled": False}]
    assert diagnostics(env) == ["Enable the AllMetrics category in a diagnostic setting of Key Vault 'swc-vault'."]
    assert diagnostics(env, requireMetrics=False) == []


def test_logs_to_an_unapproved_workspace_are_reported_and_do_not_count() -> None:
    env = environment()
    central = arm("rg-soc", "Microsoft.OperationalInsights/workspaces/log-soc")
    env["account_diag"].props["workspaceId"] = central
    found = check_stack("aoai-diagnostic-settings", stack(env))
    assert [f.urn for f in found] == [env["account_diag"].urn]
    assert found[0].message.startswith("Send diagnostic setting 'swc-account-diagnostics' of Azure OpenAI account "
                                       "'swc-account' to a Log Analytics workspace of this stack or of "
                                       "approvedWorkspaceIds")
    assert diagnostics(env, approvedWorkspaceIds=[central]) == []


def test_the_categories_are_configurable() -> None:
    env = environment()
    (message,) = diagnostics(env, accountCategories=["Audit", "RequestResponse", "Trace"], accountCategoryGroups=[])
    assert "'Trace'" in message


def test_a_setting_linked_by_resource_uri_as_in_inputs_is_found() -> None:
    env = environment()
    env["account_diag"].props.update(id="/elsewhere", resourceUri=env["account"].props["id"])
    assert diagnostics(env) == []


def retention(days: Any, **kw: Any) -> list[str]:
    props = {} if days is None else {"retentionInDays": days}
    return check_resource("aoai-log-retention", t.WORKSPACE, props, name="prod-workspace", **kw)


def test_a_year_of_retention_passes_in_prod() -> None:
    assert retention(365.0) == []


def test_short_retention_is_reported_in_prod_and_allowed_in_dev() -> None:
    assert retention(90.0) == [
        "Set retentionInDays on Log Analytics workspace 'prod-workspace' to at least 365 (it is 90): audit and "
        "request logs must be kept for the required period."]
    assert retention(30.0, stack="dev") == []


def test_unset_retention_counts_as_azures_default_of_30_days() -> None:
    (message,) = retention(None)
    assert "(it is not set, so 30)" in message
    assert retention(None, minRetentionDays=30) == []


def alerts(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-throttling-alert", stack(env), **kw))


def test_an_enabled_429_alert_with_an_action_group_passes() -> None:
    assert alerts(environment()) == []


@pytest.mark.parametrize("change", ["no-alert", "no-429", "disabled", "other-account"])
def test_an_account_without_a_working_throttling_alert_is_reported(change: str) -> None:
    env = environment()
    alert = env["alert"].props
    if change == "no-alert":
        del env["alert"]
    elif change == "no-429":
        alert["criteria"]["allOf"][0]["dimensions"] = [{"name": "StatusCode", "operator": "Include",
                                                        "values": ["500"]}]
    elif change == "disabled":
        alert["enabled"] = False
    else:
        alert["scopes"] = [arm("rg-x", "Microsoft.CognitiveServices/accounts/other")]
    (message,) = alerts(env)
    assert message.startswith("Add an enabled metric alert on Azure OpenAI account 'swc-account' whose criteria "
                              "filter dimension StatusCode on '429'")


def test_an_alert_that_notifies_nobody_is_reported_on_the_alert() -> None:
    env = environment()
    env["alert"].props["actions"] = []
    (finding,) = check_stack("aoai-throttling-alert", stack(env))
    assert finding.urn == env["alert"].urn
    assert finding.message.startswith("Add an action group to the throttling alert of Azure OpenAI account "
                                      "'swc-account' ('swc-throttling')")
    assert alerts(env, requireActionGroup=False) == []


def test_the_alert_is_not_required_in_dev() -> None:
    env = environment()
    del env["alert"]
    assert alerts(env, stack="dev") == []
