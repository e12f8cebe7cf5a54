"""Runtime guardrails in the program: the exact Azure properties of the policy assignments, exemptions, the routed
Activity Log, the change alerts, the key's near-expiry path and the Defender plan; the order a first deployment
creates them in; the settings that refuse guardrails which would mean nothing or lock the stack out; the catalogue of
built-in definitions."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.cli import main
from offline.engine import SUBSCRIPTION_ID, Graph, Resource, run_program
from settings import SettingsError, parse_settings, shapes
from settings.policy_catalog import CATALOG_FILE, load_catalog, parse_catalog
from tests.support import ROOT, stack_values

ASSIGNMENT = shapes.POLICY_ASSIGNMENT
EXEMPTION = shapes.POLICY_EXEMPTION
ACTIVITY_LOG = shapes.SUBSCRIPTION_DIAGNOSTIC_SETTING
ACTIVITY_ALERT = shapes.ACTIVITY_LOG_ALERT
LOG_ALERT = shapes.SCHEDULED_QUERY_RULE
TOPIC = shapes.SYSTEM_TOPIC
EVENT_SUBSCRIPTION = shapes.SYSTEM_TOPIC_EVENT_SUBSCRIPTION
PRICING = shapes.DEFENDER_PRICING
GUARDRAIL_TYPES = (ASSIGNMENT, EXEMPTION, ACTIVITY_LOG, ACTIVITY_ALERT, LOG_ALERT, TOPIC, EVENT_SUBSCRIPTION, PRICING)
TODAY = dt.date(2026, 11, 30)
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
BUILTIN = "/providers/Microsoft.Authorization/policyDefinitions/"
# Control short name -> (definition GUID, effect in prod).
PROD_ASSIGNMENTS = {
    "ai-localauth": ("71ef260a-8f18-47b7-abcb-62d0673d94dc", "Deny"),
    "ai-network": ("037eea7a-bd0a-46c5-9a66-03aea78705d3", "Deny"),
    "ai-cmk": ("67121cc7-ff39-4ab8-b7e3-95b84dab487d", "Deny"),
    "ai-identity": ("fe3fd216-4f83-4fc1-8984-2bbec80a3418", "Deny"),
    "ai-privlink": ("d6759c02-b87f-42b7-892e-71b3f471d782", "Audit"),
    "ai-diaglogs": ("1b4d1c4e-934c-4703-944c-27c82c06bebb", "AuditIfNotExists"),
    "kv-purge": ("0b60c0b2-2dc2-4e1c-b5c9-abbed971de53", "Deny"),
    "kv-public": ("405c5871-3e91-4644-8a63-58e19d68ff5b", "Deny"),
    "kv-rbac": ("12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5", "Deny"),
    "kv-privlink": ("a6abeaec-4d90-4a02-805f-6b26c4d3fbe9", "Audit"),
    "kv-diaglogs": ("cf820ca0-f99e-4f3e-84fb-66e913812d21", "AuditIfNotExists"),
    "key-expiry": ("152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0", "Deny"),
    "key-horizon": ("5ff38825-c5d8-47c5-b70e-069a21955146", "Audit"),
    "locations": ("e56962a6-4747-49cd-b67b-bf8b01975c4c", "Deny"),
}


def one(graph: Graph, type_: str, name: str) -> Resource:
    found = [r for r in graph.by_type(type_) if r.name == name]
    assert len(found) == 1, (type_, name, [r.name for r in graph.by_type(type_)])
    return found[0]


def named(graph: Graph, name: str) -> Resource:
    return graph.named(name)


def effect(assignment: Resource) -> str:
    parameters = assignment.inputs["parameters"]
    key = "audit_effect" if "audit_effect" in parameters else "effect"
    return str(parameters[key]["value"])


# --- policy assignments --------------------------------------------------------------------------------------------

def test_prod_assigns_every_control_at_each_regional_group_with_deny_where_offered(prod_graph: Graph) -> None:
    for code in ("swc", "frc"):
        group = named(prod_graph, f"aoai-prod-{code}-rg")
        mine = [a for a in prod_graph.by_type(ASSIGNMENT) if a.inputs["scope"] == group.id]
        assert {a.inputs["policyAssignmentName"]: (a.inputs["policyDefinitionId"], effect(a)) for a in mine} == {
            f"aoai-prod-{short}": (BUILTIN + guid, want) for short, (guid, want) in PROD_ASSIGNMENTS.items()}
        assert all(a.inputs["enforcementMode"] == "Default" for a in mine)
    assert len(prod_graph.by_type(ASSIGNMENT)) == 2 * len(PROD_ASSIGNMENTS)


def test_an_assignment_carries_exactly_what_azure_needs(prod_graph: Graph) -> None:
    purge = one(prod_graph, ASSIGNMENT, "aoai-prod-guardrails-swc-kv-purge")
    group = named(prod_graph, "aoai-prod-swc-rg")
    assert purge.inputs == {
        "policyAssignmentName": "aoai-prod-kv-purge",
        "scope": group.id,
        "policyDefinitionId": f"{BUILTIN}0b60c0b2-2dc2-4e1c-b5c9-abbed971de53",
        "definitionVersion": "2.*.*",
        "enforcementMode": "Default",
        "displayName": "aoai-prod: Vault has soft delete and purge protection",
        "description": "Key vaults should have deletion protection enabled (Deny). Mirrors the policy pack's "
                       "aoai-key-vault-protection; managed by Pulumi stack aoai-prod.",
        "parameters": {"effect": {"value": "Deny"}},
        "nonComplianceMessages": [{"message": "Vault has soft delete and purge protection: required by aoai-prod "
                                              "(aoai-key-vault-protection). See docs/incident-and-audit.md."}],
        "metadata": {"aoaiControl": "vaultDeletionProtection", "aoaiLevel": "enforce", "aoaiStack": "aoai-prod",
                     "aoaiMirrors": ["aoai-key-vault-protection"]},
    }
    assert purge.id == f"{group.id}/providers/Microsoft.Authorization/policyAssignments/aoai-prod-kv-purge"


def test_parameters_come_from_the_stack_settings(prod_graph: Graph) -> None:
    locations = one(prod_graph, ASSIGNMENT, "aoai-prod-guardrails-frc-locations").inputs["parameters"]
    assert locations == {"effect": {"value": "Deny"},
                         "listOfAllowedLocations": {"value": ["swedencentral", "francecentral"]}}
    horizon = one(prod_graph, ASSIGNMENT, "aoai-prod-guardrails-swc-key-horizon").inputs["parameters"]
    assert horizon == {"effect": {"value": "Audit"}, "minimumDaysBeforeExpiration": {"value": 30}}
    # Key Vault's private-link built-in takes its effect in audit_effect (its `effect` parameter is deprecated).
    private_link = one(prod_graph, ASSIGNMENT, "aoai-prod-guardrails-swc-kv-privlink").inputs["parameters"]
    assert private_link == {"audit_effect": {"value": "Audit"}}
    # An OpenAI-kind account is covered by Microsoft's default excludedKinds, so none is sent.
    cmk = one(prod_graph, ASSIGNMENT, "aoai-prod-guardrails-swc-ai-cmk").inputs["parameters"]
    assert cmk == {"effect": {"value": "Deny"}}


def test_assignments_are_created_after_every_resource_they_govern(prod_graph: Graph) -> None:
    """A first `pulumi up` creates the assignments last in their region: a Deny never judges a half-built
    environment, and nothing the program creates waits for (or is blocked before) an assignment."""
    assignments = prod_graph.by_type(ASSIGNMENT)
    assignment_urns = {a.urn for a in assignments}
    for code in ("swc", "frc"):
        required = {named(prod_graph, f"aoai-prod-{code}-{n}").urn for n in (
            "openai-account", "cmk-vault", "cmk-key", "cmk-identity", "openai-pe", "cmk-pe",
            "openai-deployment-chat", "monitoring-workspace", "openai-account-lock", "cmk-key-access",
            "cmk-rbac-propagation")}
        mine = [a for a in assignments if f"-{code}-" in a.name]
        assert len(mine) == len(PROD_ASSIGNMENTS)
        for assignment in mine:
            assert required <= set(assignment.dependencies), assignment.name
    for resource in prod_graph.resources:
        if resource.type not in (ASSIGNMENT, EXEMPTION):
            assert not set(resource.dependencies) & assignment_urns, f"{resource.name} waits for an assignment"


def test_dev_audits_and_never_denies(dev_graph: Graph) -> None:
    effects = {a.inputs["policyAssignmentName"]: effect(a) for a in dev_graph.by_type(ASSIGNMENT)}
    assert len(effects) == len(PROD_ASSIGNMENTS)
    assert set(effects.values()) == {"Audit", "AuditIfNotExists"}
    assert {a.inputs["metadata"]["aoaiLevel"] for a in dev_graph.by_type(ASSIGNMENT)} == {"audit"}


def test_a_control_can_be_lowered_or_switched_off_per_stack() -> None:
    raw = stack_values("prod")
    graph = run_program("prod", config_overrides={"guardrails": dict(raw["guardrails"], controls={
        "allowedLocations": "audit", "vaultRbac": "off"})})
    assert effect(one(graph, ASSIGNMENT, "aoai-prod-guardrails-swc-locations")) == "Audit"
    assert not [a for a in graph.by_type(ASSIGNMENT) if a.inputs["policyAssignmentName"] == "aoai-prod-kv-rbac"]


def test_guardrails_off_create_nothing() -> None:
    graph = run_program("dev", config_overrides={"guardrails": {"mode": "off", "activityLog": False}})
    assert not [r for r in graph.resources if r.type in GUARDRAIL_TYPES or r.type == "aoai:guardrails:Guardrails"]


# --- exemptions ----------------------------------------------------------------------------------------------------

def stack_with(tmp_path: Path, stack: str, guardrails: dict[str, Any], subscription: str | None = None) -> Path:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    document["config"]["aoai-platform:guardrails"] = guardrails
    if subscription:
        document["config"]["azure-native:subscriptionId"] = subscription
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# --- Activity Log, change alerts, vault audit alert ----------------------------------------------------------------

def test_the_activity_log_is_routed_to_the_primary_workspace_under_a_per_stack_name(prod_graph: Graph) -> None:
    setting = one(prod_graph, ACTIVITY_LOG, "aoai-prod-guardrails-activity-log")
    assert setting.inputs == {
        "name": "activity-log-aoai-prod",
        "workspaceId": named(prod_graph, "aoai-prod-swc-monitoring-workspace").id,
        "logs": [{"category": c, "enabled": True} for c in (
            "Administrative", "Security", "Policy", "Alert", "ServiceHealth", "Recommendation", "Autoscale",
            "ResourceHealth")]}
    assert setting.id == f"{SUB}/providers/Microsoft.Insights/diagnosticSettings/activity-log-aoai-prod"


def test_change_alerts_watch_every_group_of_the_stack_and_reach_the_action_group(prod_graph: Graph) -> None:
    groups = [named(prod_graph, f"aoai-prod-{code}-rg").id for code in ("swc", "frc")]
    action_group = named(prod_graph, "aoai-prod-swc-monitoring-action-group").id
    alerts = {a.inputs["activityLogAlertName"]: a.inputs for a in prod_graph.by_type(ACTIVITY_ALERT)}
    assert set(alerts) == {f"activity-aoai-prod-{s}" for s in (
        "role-assignments", "locks", "account", "vault", "policy", "policy-denials")}
    roles = alerts["activity-aoai-prod-role-assignments"]
    assert roles == {
        "activityLogAlertName": "activity-aoai-prod-role-assignments", "resourceGroupName": "rg-aoai-prod-swc",
        "location": "global", "enabled": True, "scopes": groups,
        "description": "A role assignment was created or removed in the stack's resource groups",
        "condition": {"allOf": [{"field": "category", "equals": "Administrative"}, {"anyOf": [
            {"field": "operationName", "equals": "Microsoft.Authorization/roleAssignments/write"},
            {"field": "operationName", "equals": "Microsoft.Authorization/roleAssignments/delete"}]}]},
        "actions": {"actionGroups": [{"actionGroupId": action_group}]},
        "tags": roles["tags"]}
    assert alerts["activity-aoai-prod-locks"]["condition"]["allOf"][1] == {
        "field": "operationName", "equals": "Microsoft.Authorization/locks/delete"}
    assert alerts["activity-aoai-prod-policy-denials"]["condition"]["allOf"] == [
        {"field": "category", "equals": "Policy"},
        {"field": "operationName", "equals": "Microsoft.Authorization/policies/deny/action"}]
    vault_ops = [leaf["equals"] for leaf in alerts["activity-aoai-prod-vault"]["condition"]["allOf"][1]["anyOf"]]
    assert vault_ops == ["Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults/delete",
                         "Microsoft.KeyVault/vaults/keys/write"]


def test_each_vault_has_a_log_alert_on_its_audit_events(prod_graph: Graph) -> None:
    rule = copy.deepcopy(one(prod_graph, LOG_ALERT, "aoai-prod-guardrails-swc-vault-audit").inputs)
    vault = named(prod_graph, "aoai-prod-swc-cmk-vault")
    identity = named(prod_graph, "aoai-prod-swc-cmk-identity")
    workspace = named(prod_graph, "aoai-prod-swc-monitoring-workspace")
    query = rule["criteria"]["allOf"][0].pop("query")
    assert {k: v for k, v in rule.items() if k not in ("description", "displayName", "tags")} == {
        "ruleName": "alert-aoai-prod-swc-vault-audit", "resourceGroupName": "rg-aoai-prod-swc",
        "location": "swedencentral", "kind": "LogAlert", "severity": 1, "enabled": True,
        "scopes": [workspace.id], "evaluationFrequency": "PT5M", "windowSize": "PT5M", "autoMitigate": False,
        "skipQueryValidation": True,
        "criteria": {"allOf": [{"timeAggregation": "Count", "operator": "GreaterThan", "threshold": 0,
                                "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1}}]},
        "actions": {"actionGroups": [named(prod_graph, "aoai-prod-swc-monitoring-action-group").id]}}
    assert f'| where _ResourceId =~ "{vault.id}"' in query
    assert '| where OperationName in ("KeyUpdate", "KeyDelete", "KeyPurge", "KeyRestore", "KeyImport")' in query
    assert f'caller == "{identity.outputs["principalId"]}"' in query
    assert 'ResultSignature == "Forbidden"' in query and '== 403' in query


def test_change_alerts_need_someone_to_notify() -> None:
    raw = stack_values("dev")
    with pytest.raises(SettingsError) as caught:
        parse_settings(dict(raw, guardrails={"mode": "audit", "changeAlerts": True}), "dev", today=TODAY)
    assert caught.value.problems == [
        "monitoring.alertEmails: is required (allowed: one or more e-mail addresses when guardrails.changeAlerts is "
        "true (the alerts notify the region's action group))"]


# --- key near-expiry and Defender --------------------------------------------------------------------------------

def test_the_key_near_expiry_event_becomes_an_azure_monitor_alert_before_the_key_exists(prod_graph: Graph) -> None:
    vault = named(prod_graph, "aoai-prod-swc-cmk-vault")
    topic = one(prod_graph, TOPIC, "aoai-prod-swc-cmk-events")
    assert topic.inputs == {"systemTopicName": "evgt-kv-aoai-prod-swc", "resourceGroupName": "rg-aoai-prod-swc",
                            "location": "swedencentral", "source": vault.id, "topicType": "Microsoft.KeyVault.vaults",
                            "tags": topic.inputs["tags"]}
    subscription = one(prod_graph, EVENT_SUBSCRIPTION, "aoai-prod-swc-cmk-key-expiry")
    destination = subscription.inputs["destination"]
    assert subscription.inputs["eventSubscriptionName"] == "key-expiry-to-monitor"
    assert subscription.inputs["systemTopicName"] == "evgt-kv-aoai-prod-swc"
    assert subscription.inputs["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    # The SDK sends isSubjectCaseSensitive: false by default (no subject filter is set).
    assert subscription.inputs["filter"] == {"includedEventTypes": ["Microsoft.KeyVault.KeyNearExpiry",
                                                                    "Microsoft.KeyVault.KeyExpired"],
                                             "isSubjectCaseSensitive": False}
    assert {k: v for k, v in destination.items() if k != "description"} == {
        "endpointType": "MonitorAlert", "severity": "Sev2",
        "actionGroups": [named(prod_graph, "aoai-prod-swc-monitoring-action-group").id]}
    assert subscription.id == f"{topic.id}/eventSubscriptions/key-expiry-to-monitor"
    key = named(prod_graph, "aoai-prod-swc-cmk-key")
    assert subscription.urn in key.dependencies  # Key Vault raises the event only for versions created after it


def test_the_defender_plan_is_on_kept_on_destroy_and_owned_by_prod_only(prod_graph: Graph, dev_graph: Graph) -> None:
    plan = one(prod_graph, PRICING, "aoai-prod-guardrails-defender-ai")
    assert plan.inputs == {"pricingName": "AI", "pricingTier": "Standard", "scopeId": f"subscriptions/{SUBSCRIPTION_ID}"}
    assert plan.id == f"{SUB}/providers/Microsoft.Security/pricings/AI"
    assert plan.retain_on_delete
    assert dev_graph.by_type(PRICING) == []


# --- bad input -------------------------------------------------------------------------------------------------------

def problems(raw: dict[str, Any], subscription: str | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, "prod", today=TODAY, subscription_id=subscription)
    return caught.value.problems


def prod_with(**guardrails: Any) -> dict[str, Any]:
    raw = stack_values("prod")
    raw["guardrails"] = dict(raw["guardrails"], **guardrails)
    return raw


OTHER_SUB = "99999999-9999-4999-8999-999999999999"
GOOD_EXEMPTION = {"control": "vaultRbac", "region": "swedencentral", "expiresOn": "2027-01-31",
                  "reason": "CHG-1: legacy vault migrates in Q1, approved by the CISO"}
BAD_GUARDRAILS: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("unknown definition id", {"controls": {"vaultRbac": {"definitionId": "00000000-0000-0000-0000-000000000000"}}},
     None, "guardrails.controls.vaultRbac.definitionId: '00000000-0000-0000-0000-000000000000' is not a verified "
           "built-in definition (allowed: one of "),
    ("a short definition id", {"controls": {"vaultRbac": {"definitionId": "12d4fa5e"}}}, None,
     "guardrails.controls.vaultRbac.definitionId: '12d4fa5e' is not a verified built-in definition"),
    ("a deprecated definition", {"controls": {"accountNetworkAccess": {
        "definitionId": "0725b4dd-7e76-479c-a735-68e7ee23d5ca"}}}, None,
     "'0725b4dd-7e76-479c-a735-68e7ee23d5ca' is deprecated by Microsoft"),
    ("a Modify definition", {"controls": {"accountNetworkAccess": {
        "definitionId": "47ba1dd7-28d9-4b07-a8d5-9813bed64e0c"}}}, None, "offers no Audit or AuditIfNotExists effect"),
    ("a definition for another resource type", {"controls": {"vaultRbac": {
        "definitionId": "71ef260a-8f18-47b7-abcb-62d0673d94dc"}}}, None,
     "governs Microsoft.CognitiveServices/accounts, Microsoft.Search/searchServices, not Microsoft.KeyVault/vaults"),
    ("an unknown control", {"controls": {"vaultColour": "enforce"}}, None,
     "guardrails.controls.vaultColour: 'enforce' is not a known setting (allowed: one of accountCustomerManagedKey"),
    ("an unknown level", {"controls": {"vaultRbac": "sometimes"}}, None,
     "guardrails.controls.vaultRbac: 'sometimes' is not allowed (allowed: one of enforce, audit, off)"),
    ("a scope in another subscription", {"scope": f"/subscriptions/{OTHER_SUB}"}, SUBSCRIPTION_ID,
     f"guardrails.scope: '/subscriptions/{OTHER_SUB}' is outside the stack's subscription "
     f"(azure-native:subscriptionId is {SUBSCRIPTION_ID})"),
    ("a subscription scope nobody can check", {"scope": f"/subscriptions/{OTHER_SUB}"}, None,
     "cannot be checked against the stack's subscription"),
    ("a resource as scope", {"scope": f"{SUB}/resourceGroups/rg-x"}, SUBSCRIPTION_ID,
     "is not a scope assignments can have"),
    ("an allowed-locations list missing a stack region", {"allowedLocations": ["swedencentral"]}, None,
     "guardrails.allowedLocations: ['swedencentral'] would deny the stack's own resources in that region "
     "(allowed: a list including 'francecentral' (regions[1].location))"),
    ("an allowed location outside residency", {"allowedLocations": ["swedencentral", "francecentral", "eastus"]},
     None, "guardrails.allowedLocations[2]: 'eastus' would allow resources outside data residency"),
    ("too few Activity Log categories", {"activityLogCategories": ["Administrative"]}, None,
     "misses the audit trail of control-plane changes"),
    ("a vault alert blind to purges", {"vaultAuditOperations": ["KeyUpdate", "KeyDelete"]}, None,
     "would not alert on a disabled, deleted or purged key"),
    ("an exemption without a reason", {"exemptions": [dict(GOOD_EXEMPTION, reason=None)]}, None,
     "guardrails.exemptions[0].reason: is required"),
    ("an exemption with a token reason", {"exemptions": [dict(GOOD_EXEMPTION, reason="temporary")]}, None,
     "guardrails.exemptions[0].reason: 'temporary' is missing or too short"),
    ("an exemption without expiry", {"exemptions": [{k: v for k, v in GOOD_EXEMPTION.items() if k != "expiresOn"}]},
     None, "guardrails.exemptions[0].expiresOn: is required (allowed: a date YYYY-MM-DD after today (2026-11-30) and "
           "at most 365 days ahead: an exemption without an end is a permanent hole)"),
    ("an expired exemption", {"exemptions": [dict(GOOD_EXEMPTION, expiresOn="2026-11-01")]}, None,
     "guardrails.exemptions[0].expiresOn: '2026-11-01' is in the past"),
    ("an exemption for years", {"exemptions": [dict(GOOD_EXEMPTION, expiresOn="2029-01-01")]}, None,
     "guardrails.exemptions[0].expiresOn: '2029-01-01' is later than 2027-11-30"),
    ("an exemption of a control not assigned", {"controls": {"vaultRbac": "off"}, "exemptions": [GOOD_EXEMPTION]},
     None, "guardrails.exemptions[0].control: 'vaultRbac' is not a control this stack assigns"),
    ("an exemption in another subscription", {"exemptions": [dict(
        {k: v for k, v in GOOD_EXEMPTION.items() if k != "region"},
        scope=f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-aoai-prod-swc")]}, SUBSCRIPTION_ID,
     "is outside the stack's subscription"),
    ("an exemption outside the stack's groups", {"exemptions": [dict(
        {k: v for k, v in GOOD_EXEMPTION.items() if k != "region"},
        scope=f"{SUB}/resourceGroups/rg-someone-else")]}, SUBSCRIPTION_ID, "is outside every assignment's scope"),
    ("an exemption naming both region and scope", {"exemptions": [dict(GOOD_EXEMPTION, scope=f"{SUB}/resourceGroups/"
                                                                                          "rg-aoai-prod-swc")]},
     SUBSCRIPTION_ID, "must name exactly one of region and scope"),
]


@pytest.mark.parametrize(("case", "guardrails", "subscription", "expected"), BAD_GUARDRAILS,
                         ids=[c[0] for c in BAD_GUARDRAILS])
def test_bad_guardrails_are_settings_errors(case: str, guardrails: dict[str, Any], subscription: str | None,
                                            expected: str) -> None:
    found = problems(prod_with(**guardrails), subscription)
    assert any(expected in p for p in found), found


def test_a_cmk_deny_over_an_account_not_yet_encrypted_is_refused() -> None:
    raw = stack_values("prod")
    raw["keyVault"] = dict(raw["keyVault"], identity="systemAssigned", systemAssignedStep=1)
    (problem,) = problems(raw)
    assert problem == ("guardrails.controls.accountCustomerManagedKey: 'enforce' would deny the stack's own account "
                       "(Deny on an account without a customer-managed key) (allowed: audit or off while "
                       "keyVault.systemAssignedStep is 1 (the account is not encrypted until step 2))")
    raw["guardrails"] = dict(raw["guardrails"], controls={"accountCustomerManagedKey": "audit"})
    assert parse_settings(raw, "prod", today=TODAY).guardrails.assigns


def test_every_guardrail_problem_is_listed_at_once() -> None:
    found = problems(prod_with(scope=f"/subscriptions/{OTHER_SUB}", allowedLocations=["swedencentral"],
                               exemptions=[{"control": "vaultRbac", "region": "swedencentral"}]), SUBSCRIPTION_ID)
    assert [p.split(":")[0] for p in found] == [
        "guardrails.scope", "guardrails.allowedLocations", "guardrails.exemptions[0].reason",
        "guardrails.exemptions[0].expiresOn"]


def test_management_group_names_must_fit_24_characters() -> None:
    raw = prod_with(scope="/providers/Microsoft.Management/managementGroups/platform")
    raw["namePrefix"], raw["environment"] = "contosoai", "prodeu"
    raw["allowEnvironmentMismatch"] = True  # run as stack "prod"; the name lengths are what this test is about
    raw["tags"] = dict(raw["tags"])
    assert any("assignment names of at most 24 characters" in p for p in problems(raw))


def test_a_guardrails_error_exits_2_before_anything_is_registered(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = stack_with(tmp_path, "prod", dict(stack_values("prod")["guardrails"], allowedLocations=["swedencentral"],
                                            exemptions=[{"control": "vaultRbac", "region": "swedencentral"}]))
    assert main(["preview", "--stack", "prod", "--stack-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "guardrails.allowedLocations: ['swedencentral'] would deny the stack's own resources" in err
    assert "guardrails.exemptions[0].expiresOn: is required" in err and "Traceback" not in err


def test_prod_turns_guardrails_on_by_default_and_other_environments_audit_without_paging() -> None:
    raw = stack_values("prod")
    del raw["guardrails"]
    on = parse_settings(raw, "prod", today=TODAY).guardrails
    assert (on.mode, on.activity_log, on.change_alerts, on.key_expiry_alerts, on.defender_for_ai) == (
        "enforce", True, True, True, True)
    raw = stack_values("dev")
    del raw["guardrails"]
    # What dev's policy config asks of every stack (the defaults scenario passes it): audit, the Activity Log routed.
    audit = parse_settings(raw, "dev", today=TODAY).guardrails
    assert (audit.mode, audit.activity_log, audit.change_alerts, audit.key_expiry_alerts, audit.defender_for_ai) == (
        "audit", True, False, False, False)
    assert audit.assignments and all(a.level == "audit" for a in audit.assignments)


# --- the catalogue -------------------------------------------------------------------------------------------------

def test_the_catalogue_names_its_sources_and_every_control_a_usable_definition() -> None:
    catalogue = load_catalog()
    assert catalogue.verified_on == "2026-11-30"
    assert len(catalogue.controls) == 14 and len(catalogue.definitions) == 17
    for control in catalogue.controls.values():
        definition = catalogue.definitions[control.definition]
        assert definition.source.startswith("https://github.com/Azure/azure-policy/blob/")
        assert not definition.deprecated and definition.not_used is None
    raw = json.loads(CATALOG_FILE.read_text())
    assert {u["policy"] for u in raw["uncovered"]}.isdisjoint(
        {m for c in catalogue.controls.values() for m in c.mirrors} - {"aoai-diagnostic-settings"})


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["definitions"][0].update(id="71ef260a"), "definitions[0].id: '71ef260a' is not a full lower-case GUID"),
    (lambda d: d["definitions"][0].update(effects=["Audit", "Deny"]), "definitions[0].effectParameter: 'effect' must "
                                                                        "name a parameter whose allowedValues are"),
    (lambda d: d["definitions"][0].update(source="github"), "definitions[0].source: 'github' is not the https URL"),
    (lambda d: d["definitions"][0].update(effects=["Audit", "Explode", "Disabled"]), "is not a list of Azure Policy "
                                                                                      "effects"),
    (lambda d: d["controls"][0].update(definition="0725b4dd-7e76-479c-a735-68e7ee23d5ca"),
     "controls[0].definition: '0725b4dd-7e76-479c-a735-68e7ee23d5ca' is deprecated by Microsoft"),
    (lambda d: d["controls"][0].update(definition="feedface-0000-4000-8000-000000000000"),
     "is not a definition of this catalogue"),
    (lambda d: d["controls"][0].update(maxEffect="Deny"), "controls[0].maxEffect: 'Deny' must be Audit"),
    (lambda d: d.update(verifiedOn="yesterday"), "verifiedOn 'yesterday' is not a date"),
], ids=["short-id", "effects-differ", "no-source", "unknown-effect", "deprecated", "unknown", "cap", "date"])
def test_a_malformed_catalogue_is_reported_entry_by_entry(change: Any, expected: str) -> None:
    raw = copy.deepcopy(json.loads(CATALOG_FILE.read_text()))
    change(raw)
    found: list[str] = []
    parse_catalog(raw, found, "policy_definitions.json")
    assert any(p.startswith("policy_definitions.json: ") and expected in p for p in found), found


def test_an_unreadable_catalogue_is_a_settings_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy_definitions.json"
    path.write_text("{not json")
    with pytest.raises(SettingsError) as caught:
        load_catalog(path)
    assert caught.value.problems[0].startswith("policy_definitions.json: cannot be read as JSON")
