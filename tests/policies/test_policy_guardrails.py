"""Runtime guardrails: policy assignments, exemptions, the routed Activity Log, change alerts, the key's near-expiry
alert and Defender for AI. Each policy passes a compliant stack and reports each way an edit could weaken it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from aoai_policies import tokens as t
from aoai_policies.builtins import ALLOWED_LOCATIONS, BUILTINS
from policy_fixtures import SUB, TAGS, arm, environment
from policy_harness import Res, check_stack, engine_value, messages
from pulumi.output import Unknown
from pulumi_policy.proxy import UnknownValueError

SUBSCRIPTION = f"/subscriptions/{SUB}"
OPERATIONS = {
    "role-assignments": ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"],
    "locks": ["Microsoft.Authorization/locks/delete"],
    "account": ["Microsoft.CognitiveServices/accounts/write", "Microsoft.CognitiveServices/accounts/delete"],
    "vault": ["Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults/delete"],
    "policy": ["Microsoft.Authorization/policyAssignments/write", "Microsoft.Authorization/policyAssignments/delete",
               "Microsoft.Authorization/policyExemptions/write", "Microsoft.Authorization/policyExemptions/delete"],
}


def guarded(code: str = "swc", location: str = "swedencentral") -> dict[str, Res]:
    """A compliant regional environment plus everything the guardrails add to it (shaped as azure-native outputs)."""
    env = environment(code, location)
    rg = f"rg-{code}"
    group_id = f"{SUBSCRIPTION}/resourceGroups/{rg}"
    vault_id = env["vault"].props["id"]
    workspace_id = env["workspace"].props["id"]
    action_group = arm(rg, f"Microsoft.Insights/actionGroups/ag-{code}")
    env["action_group"] = Res(t.ACTION_GROUPS[0], f"{code}-action-group", {
        "id": action_group, "name": f"ag-{code}", "location": "global", "enabled": True, "tags": TAGS,
        "emailReceivers": [{"name": "email-0", "emailAddress": "oncall@contoso.com"}]})
    for guid, builtin in BUILTINS.items():
        parameters: dict[str, Any] = {builtin.effect_parameter: {"value": "Deny" if builtin.denies else "Audit"}}
        if guid == ALLOWED_LOCATIONS:
            parameters["listOfAllowedLocations"] = {"value": ["swedencentral", "francecentral"]}
        env[f"assign-{guid[:8]}"] = Res(t.POLICY_ASSIGNMENT, f"{code}-assign-{guid[:8]}", {
            "id": f"{group_id}/providers/Microsoft.Authorization/policyAssignments/aoai-{guid[:8]}",
            "name": f"aoai-{guid[:8]}", "scope": group_id, "enforcementMode": "Default",
            "policyDefinitionId": f"/providers/Microsoft.Authorization/policyDefinitions/{guid}",
            "parameters": parameters})
    env["activity_log"] = Res(t.SUBSCRIPTION_DIAGNOSTIC_SETTING, f"{code}-activity-log", {
        "id": f"{SUBSCRIPTION}/providers/Microsoft.Insights/diagnosticSettings/activity-log-{code}",
        "name": f"activity-log-{code}", "workspaceId": workspace_id,
        "logs": [{"category": c, "enabled": True} for c in ("Administrative", "Security", "Policy", "Alert")]})
    for suffix, operations in OPERATIONS.items():
        env[f"alert-{suffix}"] = Res(t.ACTIVITY_LOG_ALERT, f"{code}-activity-{suffix}", {
            "id": arm(rg, f"Microsoft.Insights/activityLogAlerts/activity-{code}-{suffix}"), "location": "global",
            "enabled": True, "scopes": [group_id], "tags": TAGS,
            "condition": {"allOf": [{"field": "category", "equals": "Administrative"},
                                    {"anyOf": [{"field": "operationName", "equals": o} for o in operations]}]},
            "actions": {"actionGroups": [{"actionGroupId": action_group}]}})
    env["vault_audit"] = Res(t.SCHEDULED_QUERY_RULE, f"{code}-vault-audit", {
        "id": arm(rg, f"Microsoft.Insights/scheduledQueryRules/alert-{code}-vault-audit"), "location": location,
        "enabled": True, "scopes": [workspace_id], "kind": "LogAlert", "tags": TAGS,
        "criteria": {"allOf": [{"query": f'AzureDiagnostics | where Category == "AuditEvent" | where _ResourceId =~ '
                                         f'"{vault_id}" | where OperationName in ("KeyUpdate", "KeyDelete", '
                                         f'"KeyPurge") or ResultSignature == "Forbidden"',
                                "timeAggregation": "Count", "operator": "GreaterThan", "threshold": 0.0}]},
        "actions": {"actionGroups": [action_group]}})
    topic_id = arm(rg, f"Microsoft.EventGrid/systemTopics/evgt-{code}")
    env["topic"] = Res(t.SYSTEM_TOPIC, f"{code}-events", {
        "id": topic_id, "name": f"evgt-{code}", "location": location, "source": vault_id,
        "topicType": "Microsoft.KeyVault.vaults", "tags": TAGS})
    env["key_expiry"] = Res(t.SYSTEM_TOPIC_EVENT_SUBSCRIPTION, f"{code}-key-expiry", {
        "id": f"{topic_id}/eventSubscriptions/key-expiry-to-monitor", "name": "key-expiry-to-monitor",
        "eventDeliverySchema": "CloudEventSchemaV1_0",
        "filter": {"includedEventTypes": ["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired"]},
        "destination": {"endpointType": "MonitorAlert", "severity": "Sev2", "actionGroups": [action_group]}},
        depends=[f"{code}-events"])
    env["key"].depends.append(f"{code}-key-expiry")
    env["defender"] = Res(t.DEFENDER_PRICING, f"{code}-defender-ai", {
        "id": f"{SUBSCRIPTION}/providers/Microsoft.Security/pricings/AI", "name": "AI", "pricingTier": "Standard"})
    return env


def run(policy: str, env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack(policy, list(env.values()), **config))


def assignment(env: dict[str, Res], guid: str) -> Res:
    return env[f"assign-{guid[:8]}"]


NETWORK = "037eea7a-bd0a-46c5-9a66-03aea78705d3"
KV_PRIVATE_LINK = "a6abeaec-4d90-4a02-805f-6b26c4d3fbe9"
ALL_POLICIES = ("aoai-guardrail-assignments", "aoai-guardrail-exemptions", "aoai-activity-log-routed",
                "aoai-change-alerts", "aoai-key-expiry-alert", "aoai-defender-for-ai")


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_a_guarded_stack_passes(policy: str) -> None:
    assert run(policy, guarded()) == []


# --- assignments -------------------------------------------------------------------------------------------------

def test_a_missing_assignment_is_reported_for_its_resource_group() -> None:
    env = guarded()
    del env[f"assign-{NETWORK[:8]}"]
    findings = check_stack("aoai-guardrail-assignments", list(env.values()))
    assert [f.urn for f in findings] == [env["vault"].urn]
    assert findings[0].message.startswith(
        "Assign the built-in policy 'Azure AI Services resources should restrict network access' "
        f"({NETWORK}) at resource group 'rg-swc' (of Key Vault 'swc-vault')")


def test_an_assignment_at_the_subscription_or_an_approved_management_group_covers_the_group() -> None:
    env = guarded()
    assignment(env, NETWORK).props["scope"] = SUBSCRIPTION[1:]  # Azure may leave out the leading slash
    assert run("aoai-guardrail-assignments", env) == []
    mg = "/providers/Microsoft.Management/managementGroups/platform"
    assignment(env, NETWORK).props["scope"] = mg
    assert len(run("aoai-guardrail-assignments", env)) == 1
    assert run("aoai-guardrail-assignments", env, managementGroupScopes=[mg]) == []


def test_an_assignment_in_another_subscription_does_not_count() -> None:
    env = guarded()
    assignment(env, NETWORK).props["scope"] = "/subscriptions/99999999-2222-4333-8444-555555555555"
    (message,) = run("aoai-guardrail-assignments", env)
    assert message.startswith("Assign the built-in policy 'Azure AI Services resources should restrict network")


def test_a_custom_definition_borrowing_the_built_in_guid_does_not_count() -> None:
    env = guarded()
    assignment(env, NETWORK).props["policyDefinitionId"] = (
        f"{SUBSCRIPTION}/providers/Microsoft.Authorization/policyDefinitions/{NETWORK}")
    (message,) = run("aoai-guardrail-assignments", env)
    assert message.startswith("Assign the built-in policy")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda p: p["parameters"]["effect"].update(value="Audit"), "its effect is 'Audit', not 'Deny'"),
    (lambda p: p["parameters"]["effect"].update(value="Disabled"), "its effect is Disabled"),
    (lambda p: p.update(overrides=[{"kind": "policyEffect", "value": "Disabled"}]), "its effect is Disabled"),
    (lambda p: p.update(enforcementMode="DoNotEnforce"), "its enforcementMode is 'DoNotEnforce'"),
    (lambda p: p.update(notScopes=[f"{SUBSCRIPTION}/resourceGroups/rg-swc"]), "its notScopes exclude"),
    (lambda p: p.update(resourceSelectors=[{"name": "only-eastus", "selectors": [
        {"kind": "resourceLocation", "in": ["eastus"]}]}]), "its resourceSelectors apply it to part of the scope"),
], ids=["audit", "disabled", "effect-override", "do-not-enforce", "not-scopes", "resource-selectors"])
def test_an_assignment_weakened_in_place_is_reported(change: Any, reason: str) -> None:
    env = guarded()
    change(assignment(env, NETWORK).props)
    findings = check_stack("aoai-guardrail-assignments", list(env.values()))
    assert [f.urn for f in findings] == [assignment(env, NETWORK).urn]
    assert findings[0].message.startswith("Fix policy assignment 'swc-assign-037eea7a' of 'Azure AI Services "
                                          "resources should restrict network access' so that it enforces Deny at "
                                          "resource group 'rg-swc'")
    assert reason in findings[0].message


def test_audit_is_enough_where_deny_is_not_required_or_not_offered() -> None:
    env = guarded()
    assignment(env, NETWORK).props["parameters"]["effect"]["value"] = "Audit"
    assert run("aoai-guardrail-assignments", env, requireDeny=False) == []
    # Key Vault's private-link built-in offers Audit only (on the audit_effect parameter): never asked to deny.
    assert assignment(env, KV_PRIVATE_LINK).props["parameters"] == {"audit_effect": {"value": "Audit"}}
    assert run("aoai-guardrail-assignments", guarded()) == []


def test_allowed_locations_must_list_only_approved_regions() -> None:
    env = guarded()
    locations = assignment(env, ALLOWED_LOCATIONS).props["parameters"]["listOfAllowedLocations"]
    locations["value"] = ["swedencentral", "eastus"]
    (message,) = run("aoai-guardrail-assignments", env)
    assert "its listOfAllowedLocations ['swedencentral', 'eastus'] must be a non-empty subset of allowedLocations" \
        in message
    locations["value"] = []
    assert len(run("aoai-guardrail-assignments", env)) == 1
    locations["value"] = ["swedencentral"]
    assert run("aoai-guardrail-assignments", env) == []


def test_every_region_needs_its_own_cover() -> None:
    swc, frc = guarded(), guarded("frc", "francecentral")
    del frc[f"assign-{ALLOWED_LOCATIONS[:8]}"]
    findings = check_stack("aoai-guardrail-assignments", [*swc.values(), *frc.values()])
    assert [f.urn for f in findings] == [frc["vault"].urn]
    assert "resource group 'rg-frc'" in findings[0].message


def test_the_required_definitions_are_configurable() -> None:
    env = guarded()
    del env[f"assign-{NETWORK[:8]}"]
    assert run("aoai-guardrail-assignments", env, requiredDefinitions=[ALLOWED_LOCATIONS]) == []


# --- exemptions --------------------------------------------------------------------------------------------------

def exemption(env: dict[str, Res], **props: Any) -> Res:
    future = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    base = {"id": f"{SUBSCRIPTION}/resourceGroups/rg-swc/providers/Microsoft.Authorization/policyExemptions/x1",
            "name": "x1", "policyAssignmentId": assignment(env, NETWORK).props["id"], "exemptionCategory": "Waiver",
            "expiresOn": f"{future}T00:00:00Z", "description": "CHG-1234: legacy client migrates in Q1, CISO approved"}
    base.update(props)
    return Res(t.POLICY_EXEMPTION, "swc-exemption", base)


def test_a_reasoned_expiring_exemption_of_an_own_assignment_passes() -> None:
    env = guarded()
    env["exemption"] = exemption(env)
    assert run("aoai-guardrail-exemptions", env) == []


@pytest.mark.parametrize(("props", "expected"), [
    ({"expiresOn": None}, "Set expiresOn on policy exemption 'swc-exemption'"),
    ({"expiresOn": "2020-01-01T00:00:00Z"}, "it expired on 2020-01-01"),
    ({"expiresOn": f"{dt.date.today().year + 3}-01-01T00:00:00Z"}, "Shorten expiresOn of policy exemption"),
    ({"description": "because"}, "Give policy exemption 'swc-exemption' a description"),
    ({"exemptionCategory": "Forever"}, "Set exemptionCategory of policy exemption 'swc-exemption'"),
    ({"policyAssignmentId": "/providers/Microsoft.Management/managementGroups/platform/providers/"
                            "Microsoft.Authorization/policyAssignments/deny-public"},
     "an assignment this stack does not manage"),
], ids=["no-expiry", "expired", "too-long", "no-reason", "bad-category", "foreign-assignment"])
def test_an_exemption_without_reason_expiry_or_ownership_is_reported(props: dict[str, Any], expected: str) -> None:
    env = guarded()
    env["exemption"] = exemption(env, **props)
    findings = check_stack("aoai-guardrail-exemptions", list(env.values()))
    assert [f.urn for f in findings] == [env["exemption"].urn]
    assert expected in findings[0].message


def test_the_review_period_and_foreign_assignments_are_configurable() -> None:
    env = guarded()
    env["exemption"] = exemption(env, expiresOn=(dt.date.today() + dt.timedelta(days=200)).isoformat())
    assert len(run("aoai-guardrail-exemptions", env, maxExemptionDays=180)) == 1
    assert run("aoai-guardrail-exemptions", env, maxExemptionDays=365) == []
    env["exemption"].props["policyAssignmentId"] = "/providers/Microsoft.Management/managementGroups/p/x"
    assert run("aoai-guardrail-exemptions", env, maxExemptionDays=365, allowForeignAssignments=True) == []


# --- Activity Log ------------------------------------------------------------------------------------------------

def test_an_unrouted_activity_log_is_reported() -> None:
    env = guarded()
    del env["activity_log"]
    findings = check_stack("aoai-activity-log-routed", list(env.values()))
    assert [f.urn for f in findings] == [env["vault"].urn]
    assert findings[0].message.startswith("Route the subscription's Activity Log to this stack's workspace")
    assert run("aoai-activity-log-routed", env, requireActivityLog=False) == []


def test_a_missing_category_is_reported_and_all_logs_satisfies() -> None:
    env = guarded()
    env["activity_log"].props["logs"] = [{"category": "Administrative", "enabled": True},
                                         {"category": "Security", "enabled": False}]
    assert run("aoai-activity-log-routed", env) == [
        "Enable the Activity Log categories 'Security', 'Policy' and 'Alert' in subscription diagnostic setting "
        "'swc-activity-log'."]
    env["activity_log"].props["logs"] = [{"categoryGroup": "allLogs", "enabled": True}]
    assert run("aoai-activity-log-routed", env) == []


def test_an_outside_workspace_or_an_extra_sink_is_reported() -> None:
    env = guarded()
    soc = arm("rg-soc", "Microsoft.OperationalInsights/workspaces/log-soc")
    env["activity_log"].props["workspaceId"] = soc
    found = run("aoai-activity-log-routed", env)
    assert found[0].startswith("Send subscription diagnostic setting 'swc-activity-log' to a Log Analytics "
                               "workspace of this stack or of approvedWorkspaceIds")
    assert run("aoai-activity-log-routed", env, approvedWorkspaceIds=[soc]) == []
    env = guarded()
    hub = arm("rg-x", "Microsoft.EventHub/namespaces/eh-x/authorizationRules/send")
    env["activity_log"].props["eventHubAuthorizationRuleId"] = hub
    (message,) = run("aoai-activity-log-routed", env)
    assert message.startswith(f"Remove eventHubAuthorizationRuleId '{hub}' from subscription diagnostic setting")
    assert run("aoai-activity-log-routed", env, approvedSinkIds=[hub]) == []


# --- change alerts -----------------------------------------------------------------------------------------------

def test_a_missing_change_alert_names_every_uncovered_operation() -> None:
    env = guarded()
    del env["alert-locks"], env["alert-policy"]
    (message,) = run("aoai-change-alerts", env)
    assert message.startswith("Add enabled Activity Log alerts (category 'Administrative') on the operations "
                              "'Microsoft.Authorization/locks/delete', 'Microsoft.Authorization/policyAssignments/"
                              "write', 'Microsoft.Authorization/policyAssignments/delete' and "
                              "'Microsoft.Authorization/policyExemptions/write', scoped to resource group 'rg-swc'")


@pytest.mark.parametrize("change", [
    lambda p: p.update(enabled=False),
    lambda p: p["condition"]["allOf"].append({"field": "caller", "equals": "nobody@contoso.com"}),
    lambda p: p["condition"]["allOf"].__setitem__(0, {"field": "category", "equals": "ServiceHealth"}),
    lambda p: p.update(scopes=[f"{SUBSCRIPTION}/resourceGroups/rg-elsewhere"]),
], ids=["disabled", "narrowed-by-caller", "wrong-category", "other-scope"])
def test_a_change_alert_that_cannot_fire_does_not_count(change: Any) -> None:
    env = guarded()
    change(env["alert-role-assignments"].props)
    (message,) = run("aoai-change-alerts", env)
    assert "'Microsoft.Authorization/roleAssignments/write' and 'Microsoft.Authorization/roleAssignments/delete'" \
        in message


def test_an_alert_on_every_administrative_operation_of_the_subscription_counts() -> None:
    env = guarded()
    for suffix in OPERATIONS:
        del env[f"alert-{suffix}"]
    action_group = env["action_group"].props["id"]
    env["catch-all"] = Res(t.ACTIVITY_LOG_ALERT, "catch-all", {
        "id": arm("rg-swc", "Microsoft.Insights/activityLogAlerts/all"), "enabled": True, "scopes": [SUBSCRIPTION],
        "condition": {"allOf": [{"field": "category", "equals": "Administrative"}]},
        "actions": {"actionGroups": [{"actionGroupId": action_group}]}})
    assert run("aoai-change-alerts", env) == []


@pytest.mark.parametrize("change", [
    lambda env: env["action_group"].props.update(enabled=False),
    lambda env: env["action_group"].props.update(emailReceivers=[]),
], ids=["disabled-group", "no-receivers"])
def test_alerts_must_reach_an_enabled_action_group_with_receivers(change: Any) -> None:
    env = guarded()
    change(env)
    found = run("aoai-change-alerts", env)
    assert len(found) == len(OPERATIONS) + 1  # every Activity Log alert and the vault audit alert
    assert found[0].startswith("Send Activity Log alert 'swc-activity-")
    assert found[-1] == "Send log alert 'swc-vault-audit' to an enabled action group with receivers."
    assert run("aoai-change-alerts", env, approvedActionGroupIds=[env["action_group"].props["id"]]) == []


@pytest.mark.parametrize("change", [
    lambda p: p.update(scopes=[arm("rg-soc", "Microsoft.OperationalInsights/workspaces/log-soc")]),
    lambda p: p["criteria"]["allOf"][0].update(query=p["criteria"]["allOf"][0]["query"].replace('"KeyPurge"', "")),
    lambda p: p["criteria"]["allOf"][0].update(query=p["criteria"]["allOf"][0]["query"].replace(
        ' or ResultSignature == "Forbidden"', "")),
    lambda p: p.update(enabled=False),
], ids=["other-workspace", "purge-missing", "no-access-denied", "disabled"])
def test_a_vault_audit_alert_that_misses_an_event_is_reported(change: Any) -> None:
    env = guarded()
    change(env["vault_audit"].props)
    findings = check_stack("aoai-change-alerts", list(env.values()))
    assert [f.urn for f in findings] == [env["vault"].urn]
    assert findings[0].message.startswith("Add an enabled log alert on the workspace that receives the audit events "
                                          "of Key Vault 'swc-vault'")
    assert run("aoai-change-alerts", env, requireVaultAuditAlert=False) == []


def test_change_alerts_are_not_required_where_configured_off() -> None:
    env = guarded()
    for suffix in OPERATIONS:
        del env[f"alert-{suffix}"]
    assert run("aoai-change-alerts", env, requireChangeAlerts=False) == []


# --- key near-expiry ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda env: env.pop("key_expiry"),
    lambda env: env["topic"].props.update(source=arm("rg-swc", "Microsoft.KeyVault/vaults/other")),
    lambda env: env["key_expiry"].props["destination"].update(endpointType="WebHook"),
    lambda env: env["key_expiry"].props["filter"].update(includedEventTypes=["Microsoft.KeyVault.KeyExpired"]),
    lambda env: env["action_group"].props.update(enabled=False),
], ids=["no-subscription", "topic-on-another-vault", "not-monitor-alert", "near-expiry-filtered-out",
        "disabled-group"])
def test_a_key_expiry_path_that_cannot_reach_people_is_reported(change: Any) -> None:
    env = guarded()
    change(env)
    findings = check_stack("aoai-key-expiry-alert", list(env.values()))
    assert [f.urn for f in findings] == [env["vault"].urn]
    assert findings[0].message.startswith("Deliver 'Microsoft.KeyVault.KeyNearExpiry' and "
                                          "'Microsoft.KeyVault.KeyExpired' of Key Vault 'swc-vault' as an Azure "
                                          "Monitor alert")
    assert run("aoai-key-expiry-alert", env, requireKeyExpiryAlert=False) == []


def test_a_key_created_before_the_subscription_is_reported() -> None:
    env = guarded()
    env["key"].depends.remove("swc-key-expiry")
    findings = check_stack("aoai-key-expiry-alert", list(env.values()))
    assert [f.urn for f in findings] == [env["key"].urn]
    assert findings[0].message.startswith("Make key 'swc-key' depend on Event Grid subscription 'swc-key-expiry'")
    assert run("aoai-key-expiry-alert", env, requireSubscriptionBeforeKey=False) == []


def test_a_subscription_without_a_type_filter_receives_every_event_and_counts() -> None:
    env = guarded()
    env["key_expiry"].props["filter"] = {}
    assert run("aoai-key-expiry-alert", env) == []


# --- Defender for AI ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "urn_of"), [
    (lambda env: env.pop("defender"), "account"),
    (lambda env: env["defender"].props.update(pricingTier="Free"), "defender"),
    (lambda env: env["defender"].props.update(name="StorageAccounts"), "account"),
    (lambda env: env["defender"].props.update(id=env["account"].props["id"] + "/providers/Microsoft.Security/"
                                                                               "pricings/AI"), "defender"),
], ids=["absent", "free-tier", "another-plan", "resource-level"])
def test_defender_for_ai_must_be_on_at_the_subscription(change: Any, urn_of: str) -> None:
    env = guarded()
    change(env)
    findings = check_stack("aoai-defender-for-ai", list(env.values()))
    assert len(findings) == 1 and findings[0].message.startswith(
        "Turn on Microsoft Defender for AI services on the subscription of Azure OpenAI account 'swc-account'")
    expected = (env.get(urn_of) or guarded()[urn_of]).urn
    assert findings[0].urn == expected
    assert run("aoai-defender-for-ai", env, requireDefenderForAI=False) == []


def test_a_first_preview_defers_rather_than_guesses() -> None:
    """Assignment scopes are resource group ids, unknown until the groups exist: the policy must not decide (the
    SDK then reports it as not runnable during preview)."""
    env = copy.deepcopy(guarded())
    assignment(env, NETWORK).props["scope"] = engine_value(Unknown())
    with pytest.raises(UnknownValueError):
        check_stack("aoai-guardrail-assignments", list(env.values()))
