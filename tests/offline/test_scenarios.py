"""Scenario stack files (tests/scenarios/<name>/): stack files a platform engineer could copy, each checked here the
way an operator checks it, `python -m offline check --stack <stack> --stack-file <file> [--policy-config <json>]`,
in-process with the session's warm packs.

Every scenario states its verdicts (the exit code and every violation, counted per rule, under each policy config it
is checked with) and what makes it that scenario, read from the graph its program registered. The program runs once
per scenario and session (`tests.support.scenario_graph`): the checks and the graph assertions read the same run, so
`check` here gets its graph from that cache and does everything else (the CLI's file checks, the quota check across
stacks, the policy config, the served pack) itself. A directory under tests/scenarios that is not in SCENARIOS, or
not in its README, fails the suite.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.cli import main
from offline.engine import CLOUD_SUFFIXES, SUBSCRIPTION_ID, Graph, Resource
from offline.loader import LoadError
from offline.stack_settings import stack_settings
from settings import TOP_LEVEL_KEYS, SettingsError
from settings.catalog import CLOUDS, DNS_ZONES
from settings.guardrails import KNOWN as GUARDRAIL_KEYS
from settings.policy_catalog import load_catalog
from settings.shapes import (
    ACCOUNT,
    ACTION_GROUP,
    ACTIVITY_LOG_ALERT,
    DEFENDER_PRICING,
    DEPLOYMENT,
    DIAGNOSTIC_SETTING,
    KEY,
    LOCK,
    METRIC_ALERT,
    NETWORK_SECURITY_GROUP,
    POLICY_ASSIGNMENT,
    POLICY_EXEMPTION,
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    RAI_POLICY,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    SCHEDULED_QUERY_RULE,
    SLEEP,
    SUBNET,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    SYSTEM_TOPIC,
    USER_ASSIGNED_IDENTITY,
    VAULT,
    VIRTUAL_NETWORK,
    VIRTUAL_NETWORK_LINK,
    WORKSPACE,
)
from tests.support import (
    ROOT,
    SCENARIOS,
    scenario_file,
    scenario_graph,
    scenario_run_file,
    scenario_stack,
    scenario_values,
)

TODAY = dt.date(2026, 11, 30)  # the day the scenarios were written: what the settings say of them is pinned to it
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"


@dataclass(frozen=True)
class Verdict:
    """What `check` says of a scenario under one policy config: its exit code and every violation, counted per rule
    and level, exactly; `says`: lines its output must contain (where the operator is sent to fix it)."""

    config: str | None  # None: the stack's own policies/config/<stack>.json; "own": the scenario's policy-config.json
    exit_code: int
    mandatory: Mapping[str, int] = field(default_factory=dict)
    advisory: Mapping[str, int] = field(default_factory=dict)
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A scenario's verdicts and what makes it that scenario. `base` is the policy config its own policy-config.json
    copies, `approves` the rules whose entries it changes there (and no other)."""

    verdicts: tuple[Verdict, ...]
    shows: Callable[[Graph], None]
    base: str | None = None
    approves: tuple[str, ...] = ()


def one(graph: Graph, type_: str, name: str) -> Resource:
    found = [r for r in graph.by_type(type_) if r.name == name]
    assert len(found) == 1, (type_, name, sorted(r.name for r in graph.by_type(type_)))
    return found[0]


def zone_ids_of(graph: Graph, endpoint: Resource) -> set[str]:
    (group,) = [g for g in graph.by_type(PRIVATE_DNS_ZONE_GROUP) if g.parent == endpoint.urn]
    return {c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]}


def effect(assignment: Resource) -> str:
    parameters = assignment.inputs["parameters"]
    return str(parameters["audit_effect" if "audit_effect" in parameters else "effect"]["value"])


# --- what each scenario shows --------------------------------------------------------------------------------------

def defaults_give_what_the_docs_list(graph: Graph) -> None:
    """docs/configuration.md's defaults, as Azure receives them."""
    account = one(graph, ACCOUNT, "aoai-dev-swc-openai-account").inputs
    assert (account["kind"], account["sku"], account["properties"]["customSubDomainName"]) == (
        "OpenAI", {"name": "S0"}, "aoai-dev-swc")  # namePrefix aoai, no nameSuffix
    assert account["properties"]["allowedFqdnList"] == [] and account["properties"]["networkAcls"]["bypass"] == "None"
    assert account["identity"]["type"] == "UserAssigned"  # keyVault.identity userAssigned
    (deployment,) = graph.by_type(DEPLOYMENT)
    # name = the model, version = the region's current one, Standard, NoAutoUpgrade, content filter "default".
    assert deployment.inputs["deploymentName"] == "gpt-4.1" and deployment.inputs["sku"] == {"name": "Standard",
                                                                                             "capacity": 10}
    assert deployment.inputs["properties"] == {"model": {"format": "OpenAI", "name": "gpt-4.1", "version": "2025-04-14"},
                                               "raiPolicyName": "default", "versionUpgradeOption": "NoAutoUpgrade"}
    (policy,) = graph.by_type(RAI_POLICY)
    assert policy.inputs["raiPolicyName"] == "default"
    properties = policy.inputs["properties"]
    assert (properties["basePolicyName"], properties["mode"]) == ("Microsoft.DefaultV2", "Default")
    filters = {(f["name"], f["source"]): f for f in properties["contentFilters"]}
    assert {f.get("severityThreshold") for f in filters.values() if "severityThreshold" in f} == {"Medium"}
    assert all(f["blocking"] and f["enabled"] for f in filters.values())
    assert {("Jailbreak", "Prompt"), ("Protected Material Text", "Completion"),
            ("Protected Material Code", "Completion")} <= set(filters)
    vault = one(graph, VAULT, "aoai-dev-swc-cmk-vault").inputs["properties"]
    assert (vault["sku"]["name"], vault["softDeleteRetentionInDays"], vault["enablePurgeProtection"]) == (
        "standard", 90, True)
    key = one(graph, KEY, "aoai-dev-swc-cmk-key").inputs["properties"]
    assert (key["kty"], key["keySize"]) == ("RSA", 2048)
    assert key["rotationPolicy"] == {"attributes": {"expiryTime": "P1Y"}, "lifetimeActions": [
        {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P180D"}},
        {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}}]}
    assert len(graph.by_type(USER_ASSIGNED_IDENTITY)) == 1
    assert one(graph, SLEEP, "aoai-dev-swc-cmk-rbac-propagation").inputs["createDuration"] == "2m"
    assert one(graph, WORKSPACE, "aoai-dev-swc-monitoring-workspace").inputs["retentionInDays"] == 90
    logs = one(graph, DIAGNOSTIC_SETTING, "aoai-dev-swc-openai-diagnostics").inputs["logs"]
    assert [entry["category"] for entry in logs] == ["Audit", "RequestResponse", "AzureOpenAIRequestUsage", "Trace"]
    # Guardrails outside prod: the built-ins assigned in audit, the Activity Log routed, nobody paged, no Defender plan.
    assignments = graph.by_type(POLICY_ASSIGNMENT)
    assert len(assignments) == 14 and {a.inputs["metadata"]["aoaiLevel"] for a in assignments} == {"audit"}
    effects = {value["value"] for a in assignments for name, value in a.inputs["parameters"].items() if "effect" in name}
    assert effects == {"Audit", "AuditIfNotExists"}, "audit: no assignment denies"
    assert len(graph.by_type(SUBSCRIPTION_DIAGNOSTIC_SETTING)) == 1
    assert not graph.by_type(ACTIVITY_LOG_ALERT) and not graph.by_type(DEFENDER_PRICING)
    assert {z.inputs["privateZoneName"] for z in graph.by_type(PRIVATE_ZONE)} == {
        DNS_ZONES["public"][k] for k in ("openai", "cognitiveservices", "vault")}
    # No alerts without an e-mail to send them to, no deletion protection, no paging guardrails outside prod, no grants.
    absent = (METRIC_ALERT, ACTION_GROUP, LOCK, POLICY_EXEMPTION, ACTIVITY_LOG_ALERT, SCHEDULED_QUERY_RULE,
              SYSTEM_TOPIC, DEFENDER_PRICING)
    assert [r.name for r in graph.resources if r.type in absent] == []
    assert not [r.name for r in graph.resources if r.protect]
    assert [r.name for r in graph.by_type(ROLE_ASSIGNMENT)] == ["aoai-dev-swc-cmk-key-access"]
    assert account["tags"] == {"costCenter": "CC-1042", "dataClassification": "internal", "environment": "dev",
                               "managedBy": "pulumi", "owner": "platform-team@contoso.com"}


def maximal_registers_every_setting(graph: Graph) -> None:
    """Every top-level setting, every guardrails key and control given; what the explicit values make."""
    values = scenario_values("maximal")
    assert set(values) == set(TOP_LEVEL_KEYS)
    assert set(values["guardrails"]) == set(GUARDRAIL_KEYS)
    assert set(values["guardrails"]["controls"]) == set(load_catalog().controls)
    for code in ("swc", "frc"):
        base = f"aoai-prod-{code}-01"
        account = one(graph, ACCOUNT, f"{base}-openai-account")
        assert account.inputs["properties"]["customSubDomainName"] == base and account.protect
        assert one(graph, VAULT, f"{base}-cmk-vault").inputs["vaultName"] == f"kv-{base}"
        assert one(graph, SLEEP, f"{base}-cmk-rbac-propagation").inputs["createDuration"] == "3m"
        alerts = {a.inputs["ruleName"] for a in graph.by_type(METRIC_ALERT) if f"-{code}-" in a.name}
        assert alerts == {f"alert-{base}-{kind}" for kind in ("throttling", "server-errors", "latency",
                                                               "ptu-utilization")}
        chat = one(graph, DEPLOYMENT, f"{base}-openai-deployment-chat").inputs
        assert chat["sku"] == {"name": "DataZoneProvisionedManaged", "capacity": 50}
        assert chat["properties"]["spilloverDeploymentName"] == "chat-paygo"
    # A deployment in one region only, on the stricter of the two content filters.
    (public,) = [d for d in graph.by_type(DEPLOYMENT) if d.inputs["deploymentName"] == "assistant-public"]
    assert public.inputs["accountName"] == "aoai-prod-swc-01" and public.inputs["properties"]["raiPolicyName"] == "strict"
    strict = one(graph, RAI_POLICY, "aoai-prod-swc-01-openai-filter-strict").inputs["properties"]["contentFilters"]
    assert {f["severityThreshold"] for f in strict if "severityThreshold" in f} == {"Low"}
    assert len(graph.by_type(LOCK)) == 8  # account, vault, key and workspace in each region
    assert {a.inputs["principalType"] for a in graph.by_type(ROLE_ASSIGNMENT) if "-access-" in a.name} == {
        "Group", "ServicePrincipal"}
    assert len(graph.by_type(ACTIVITY_LOG_ALERT)) == 6 and len(graph.by_type(SCHEDULED_QUERY_RULE)) == 2
    assert len(graph.by_type(SYSTEM_TOPIC)) == 2 and len(graph.by_type(DEFENDER_PRICING)) == 1
    assert one(graph, ACCOUNT, "aoai-prod-swc-01-openai-account").inputs["tags"]["application"] == "chat-platform"
    # The exemptions: one control waived where declared, each with its reason, category and end.
    expires = values["guardrails"]["exemptions"][0]["expiresOn"]
    by_control = {e.inputs["metadata"]["aoaiControl"]: e.inputs for e in graph.by_type(POLICY_EXEMPTION)}
    public_access = by_control["vaultPublicNetworkAccess"]
    assert public_access["scope"] == one(graph, RESOURCE_GROUP, "aoai-prod-swc-01-rg").id
    assert public_access["policyAssignmentId"] == one(graph, POLICY_ASSIGNMENT,
                                                      "aoai-prod-guardrails-swc-kv-public").id
    assert public_access["exemptionCategory"] == "Mitigated" and public_access["expiresOn"] == f"{expires}T00:00:00Z"
    assert public_access["description"].startswith("CHG-0042")
    rbac = by_control["vaultRbac"]
    assert rbac["scope"] == values["guardrails"]["exemptions"][1]["scope"] and rbac["exemptionCategory"] == "Waiver"
    assert rbac["policyAssignmentId"] == one(graph, POLICY_ASSIGNMENT, "aoai-prod-guardrails-frc-kv-rbac").id


def hub_and_spoke_creates_no_network_of_its_own(graph: Graph) -> None:
    """No VNet, subnet, NSG, zone or link: every endpoint sits in the hub's subnet and registers in the hub's zones."""
    values = scenario_values("hub-and-spoke")
    subnet_id = values["regions"][0]["existingSubnetId"]
    zone_ids = values["privateDns"]["existingZoneIds"]
    created = {r.type for r in graph.resources}
    assert not created & {PRIVATE_ZONE, VIRTUAL_NETWORK_LINK, VIRTUAL_NETWORK, SUBNET, NETWORK_SECURITY_GROUP}
    endpoints = graph.by_type(PRIVATE_ENDPOINT)
    assert len(endpoints) == 2 and all(e.inputs["subnet"] == {"id": subnet_id} for e in endpoints)
    assert set().union(*(zone_ids_of(graph, e) for e in endpoints)) == set(zone_ids.values())


def step_one_grants_the_accounts_identity_without_encrypting(graph: Graph) -> None:
    account = one(graph, ACCOUNT, "aoai-dev-swc-openai-account")
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert "encryption" not in account.inputs["properties"]
    assert graph.by_type(USER_ASSIGNED_IDENTITY) == []


def step_two_encrypts_with_the_accounts_own_identity(graph: Graph) -> None:
    account = one(graph, ACCOUNT, "aoai-dev-swc-openai-account")
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert "identityClientId" not in account.inputs["properties"]["encryption"]["keyVaultProperties"]
    assert graph.by_type(USER_ASSIGNED_IDENTITY) == []
    # Step 2 is step 1's file with systemAssignedStep 2 and nothing else changed.
    first, second = (scenario_values(name) for name in ("system-assigned-key-step-1", "system-assigned-key"))
    assert (first["keyVault"].pop("systemAssignedStep"), second["keyVault"].pop("systemAssignedStep")) == (1, 2)
    assert first == second


def us_government_uses_its_regions_and_zone_names(graph: Graph) -> None:
    assert {z.inputs["privateZoneName"] for z in graph.by_type(PRIVATE_ZONE)} == {
        "privatelink.openai.azure.us", "privatelink.cognitiveservices.azure.us",
        "privatelink.vaultcore.usgovcloudapi.net"}
    assert {a.inputs["location"] for a in graph.by_type(ACCOUNT)} == {"usgovvirginia", "usgovarizona"}
    assert {a.inputs["properties"]["encryption"]["keyVaultProperties"]["keyVaultUri"]
            for a in graph.by_type(ACCOUNT)} == {"https://kv-aoai-prod-ugv.vault.usgovcloudapi.net/",
                                                  "https://kv-aoai-prod-uga.vault.usgovcloudapi.net/"}
    assert {a.outputs["properties"]["endpoint"] for a in graph.by_type(ACCOUNT)} == {
        "https://aoai-prod-ugv.openai.azure.us/", "https://aoai-prod-uga.openai.azure.us/"}
    assert {d.inputs["sku"]["name"] for d in graph.by_type(DEPLOYMENT)} <= {"DataZoneStandard",
                                                                              "DataZoneProvisionedManaged"}
    assert set(CLOUD_SUFFIXES) == set(CLOUDS)  # the offline engine answers with every cloud's host names


def ai_services_accounts_register_in_three_zones_and_are_covered_by_the_cmk_guardrail(graph: Graph) -> None:
    zones = {z.inputs["privateZoneName"]: z.id for z in graph.by_type(PRIVATE_ZONE)}
    assert "privatelink.services.ai.azure.com" in zones and len(zones) == 4
    for code in ("swc", "frc"):
        assert one(graph, ACCOUNT, f"aoai-prod-{code}-openai-account").inputs["kind"] == "AIServices"
        assert zone_ids_of(graph, one(graph, PRIVATE_ENDPOINT, f"aoai-prod-{code}-openai-pe")) == {
            zones["privatelink.openai.azure.com"], zones["privatelink.cognitiveservices.azure.com"],
            zones["privatelink.services.ai.azure.com"]}
    # Microsoft's CMK built-in excludes AIServices by default: the assignment takes it out of the exclusions.
    excluded = one(graph, POLICY_ASSIGNMENT, "aoai-prod-guardrails-swc-ai-cmk").inputs["parameters"]["excludedKinds"]
    catalogue_default = load_catalog().definitions["67121cc7-ff39-4ab8-b7e3-95b84dab487d"].parameters[
        "excludedKinds"].default
    assert "AIServices" in catalogue_default and "AIServices" not in excluded["value"]
    assert excluded["value"] == [k for k in catalogue_default if k != "AIServices"]


def subscription_scope_assigns_once_after_every_region(graph: Graph) -> None:
    assignments = graph.by_type(POLICY_ASSIGNMENT)
    assert len(assignments) == len(load_catalog().controls)
    assert {a.inputs["scope"] for a in assignments} == {SUB}
    accounts = {one(graph, ACCOUNT, f"aoai-prod-{code}-openai-account").urn for code in ("swc", "frc")}
    assert all(accounts <= set(a.dependencies) for a in assignments)
    policy_alert = one(graph, ACTIVITY_LOG_ALERT, "aoai-prod-guardrails-policy")
    assert policy_alert.inputs["scopes"] == [SUB]  # assignment writes happen outside the resource groups


def management_group_scope_is_taken_verbatim(graph: Graph) -> None:
    mg = scenario_values("guardrails-management-group")["guardrails"]["scope"]
    assignments = graph.by_type(POLICY_ASSIGNMENT)
    assert len(assignments) == len(load_catalog().controls)
    assert {a.inputs["scope"] for a in assignments} == {mg}
    assert max(len(a.inputs["policyAssignmentName"]) for a in assignments) <= 24
    assert {effect(a) for a in assignments} == {"Deny", "Audit", "AuditIfNotExists"}


def third_region_is_a_regional_environment_of_its_own(graph: Graph) -> None:
    assert {a.inputs["location"] for a in graph.by_type(ACCOUNT)} == {"swedencentral", "francecentral",
                                                                      "germanywestcentral"}
    assert not [d.name for d in graph.by_type(DEPLOYMENT) if "-gwc-" in d.name]
    locations = one(graph, POLICY_ASSIGNMENT, "aoai-prod-guardrails-gwc-locations").inputs["parameters"]
    assert locations["listOfAllowedLocations"]["value"] == ["swedencentral", "francecentral", "germanywestcentral"]


def central_workspace_receives_every_log_in_its_region(graph: Graph) -> None:
    workspaces = scenario_values("central-workspace")["monitoring"]["existingWorkspaceIds"]
    assert graph.by_type(WORKSPACE) == []
    assert {d.inputs["workspaceId"] for d in graph.by_type(DIAGNOSTIC_SETTING)} == set(workspaces.values())
    for code, location in (("swc", "swedencentral"), ("frc", "francecentral")):
        mine = [d for d in graph.by_type(DIAGNOSTIC_SETTING) if f"-{code}-" in d.name]
        assert len(mine) == 2 and {d.inputs["workspaceId"] for d in mine} == {workspaces[location]}
    activity = one(graph, SUBSCRIPTION_DIAGNOSTIC_SETTING, "aoai-prod-guardrails-activity-log")
    assert activity.inputs["workspaceId"] == workspaces["swedencentral"]  # the primary region's


# --- the scenarios -------------------------------------------------------------------------------------------------

DEV, PROD = "policies/config/dev.json", "policies/config/prod.json"
SCENARIO_CASES: dict[str, Scenario] = {
    # Outside prod the guardrails default to what dev's policy config asks of every stack (audit-mode assignments,
    # the Activity Log routed): the smallest file passes its own gate.
    "defaults": Scenario((Verdict(None, 0),), defaults_give_what_the_docs_list),
    "maximal": Scenario((Verdict(None, 0),), maximal_registers_every_setting),
    "hub-and-spoke": Scenario(
        (Verdict(None, 1, {"aoai-private-endpoint-placement": 2},
                 says=("Fix in stack file {file}: regions[].existingSubnetId; or, after review, in policy config "
                       "policies/config/dev.json: aoai-private-endpoint-placement.approvedSubnetIds",)),
         Verdict("own", 0)),
        hub_and_spoke_creates_no_network_of_its_own, base=DEV, approves=("aoai-private-endpoint-placement",)),
    # Step 1 does not encrypt yet: a reviewed, temporary exception to aoai-account-cmk.
    "system-assigned-key-step-1": Scenario(
        (Verdict(None, 1, {"aoai-account-cmk": 1}), Verdict("own", 0, advisory={"aoai-account-cmk": 1})),
        step_one_grants_the_accounts_identity_without_encrypting, base=DEV, approves=("aoai-account-cmk",)),
    # Dev accepts step 2; prod refuses the system-assigned identity (aoai-account-managed-identity) and its CMK
    # (aoai-account-cmk), besides every rule dev relaxes (as test_dev_under_the_prod_config_fails_exactly_where_dev_
    # is_relaxed lists them, for this one-region file).
    "system-assigned-key": Scenario(
        (Verdict(None, 0),
         Verdict(PROD, 1, {"aoai-account-managed-identity": 1, "aoai-account-cmk": 1,
                           "aoai-cmk-key-strength": 1, "aoai-key-vault-protection": 1, "aoai-log-retention": 1,
                           "aoai-throttling-alert": 1, "aoai-protect-data-resources": 4, "aoai-delete-locks": 4,
                           "aoai-required-tags": 18, "aoai-environment-tag": 18, "aoai-guardrail-assignments": 9,
                           "aoai-change-alerts": 2, "aoai-key-expiry-alert": 1, "aoai-defender-for-ai": 1})),
        step_two_encrypts_with_the_accounts_own_identity),
    # Under prod's own config: the regions, the zone names and the chat model are what its policy config approves.
    "us-government": Scenario(
        (Verdict("own", 0),
         Verdict(PROD, 1, {"aoai-allowed-regions": 23, "aoai-guardrail-assignments": 2,
                           "aoai-account-private-endpoint": 2, "aoai-vault-private-endpoint": 2,
                           "aoai-deployment-model-allowed": 4},
                 says=("aoai-account-private-endpoint.accountZones", "aoai-vault-private-endpoint.vaultZones"))),
        us_government_uses_its_regions_and_zone_names, base=PROD,
        approves=("aoai-allowed-regions", "aoai-guardrail-assignments", "aoai-account-private-endpoint",
                  "aoai-vault-private-endpoint", "aoai-deployment-model-allowed")),
    "ai-services": Scenario((Verdict(None, 0),),
                            ai_services_accounts_register_in_three_zones_and_are_covered_by_the_cmk_guardrail),
    "guardrails-subscription-scope": Scenario((Verdict(None, 0),), subscription_scope_assigns_once_after_every_region),
    # Prod's config cannot see the subscription under the management group: no region's group counts as covered.
    "guardrails-management-group": Scenario(
        (Verdict(None, 1, {"aoai-guardrail-assignments": 28}), Verdict("own", 0)),
        management_group_scope_is_taken_verbatim, base=PROD, approves=("aoai-guardrail-assignments",)),
    # The third region's 9 resources plus its vault audit alert and Event Grid topic; its allowed-locations
    # assignments list the region too.
    "third-region": Scenario(
        (Verdict(None, 1, {"aoai-allowed-regions": 11, "aoai-guardrail-assignments": 3}), Verdict("own", 0)),
        third_region_is_a_regional_environment_of_its_own, base=PROD,
        approves=("aoai-allowed-regions", "aoai-guardrail-assignments")),
    # The Activity Log follows the primary region's workspace there too; the Log Analytics Reader grant lands on a
    # workspace outside the stack's own scopes.
    "central-workspace": Scenario(
        (Verdict(None, 1, {"aoai-diagnostic-settings": 4, "aoai-diagnostics-same-region": 4,
                           "aoai-activity-log-routed": 1, "aoai-role-assignment-scope": 2},
                 says=("aoai-activity-log-routed.approvedWorkspaceIds",)),
         Verdict("own", 0)),
        central_workspace_receives_every_log_in_its_region, base=PROD,
        approves=("aoai-diagnostic-settings", "aoai-diagnostics-same-region", "aoai-activity-log-routed",
                  "aoai-role-assignment-scope")),
}


def config_path(name: str, verdict: Verdict) -> Path:
    if verdict.config is None:
        return ROOT / "policies" / "config" / f"{scenario_stack(name)}.json"
    return SCENARIOS / name / "policy-config.json" if verdict.config == "own" else ROOT / verdict.config


@pytest.mark.parametrize("name", list(SCENARIO_CASES))
def test_scenario_passes_check_with_its_verdicts_and_shows_what_it_is_about(
        name: str, pool: Any, shared_program: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths as an operator types them in the repository, and as check shows them
    scenario = SCENARIO_CASES[name]
    stack, file = scenario_stack(name), scenario_run_file(name)
    shown = file.relative_to(ROOT)
    for i, verdict in enumerate(scenario.verdicts):
        config = config_path(name, verdict)
        argv = ["check", "--stack", stack, "--stack-file", str(shown), "--json", str(tmp_path / f"{i}.json")]
        if verdict.config is not None:
            argv += ["--policy-config", str(config.relative_to(ROOT))]
        code = main(argv, pool=pool)
        out, err = capsys.readouterr()
        assert code == verdict.exit_code, f"{' '.join(argv)}\n{out}\n{err}"
        doc = json.loads((tmp_path / f"{i}.json").read_text())
        found = {level: dict(Counter(v["policy"] for v in doc["violations"] if v["enforcementLevel"] == level))
                 for level in ("mandatory", "advisory")}
        assert found == {"mandatory": dict(verdict.mandatory), "advisory": dict(verdict.advisory)}, argv
        assert doc["policyPack"]["config"] == str(config.relative_to(ROOT)) and doc["undecided"] == []
        assert out.rstrip().endswith("PASS: no mandatory violations" if verdict.exit_code == 0 else
                                     f"FAIL: {sum(verdict.mandatory.values())} mandatory violation(s) block the "
                                     "deployment")
        for line in verdict.says:
            assert line.format(file=shown) in out, line
    scenario.shows(scenario_graph(name))


@pytest.mark.parametrize("name", list(SCENARIO_CASES))
def test_scenario_settings_load_without_a_warning(name: str) -> None:
    """As the program reads the file (declared defaults, the provider's subscription id), on the day it was written:
    no problem and no warning (a model retiring within modelLifecycle.warningDays, say)."""
    settings = stack_settings(scenario_stack(name), scenario_file(name), today=TODAY)
    assert settings.warnings == ()
    assert settings.environment == scenario_stack(name)


@pytest.mark.parametrize("name", [n for n, s in SCENARIO_CASES.items() if s.base is not None])
def test_a_scenario_policy_config_changes_only_the_rules_it_approves(name: str) -> None:
    """A scenario's policy-config.json is its base config (dev's or prod's) with the entries it needs, and nothing
    else loosened on the way."""
    scenario = SCENARIO_CASES[name]
    assert scenario.base is not None
    base = json.loads((ROOT / scenario.base).read_text())
    own = json.loads((SCENARIOS / name / "policy-config.json").read_text())
    changed = {rule for rule in base.keys() | own.keys() if base.get(rule) != own.get(rule)}
    assert changed == set(scenario.approves)
    assert any(v.config == "own" for v in scenario.verdicts)


def test_every_scenario_directory_is_checked_and_listed_in_the_readme() -> None:
    directories = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert directories == sorted(SCENARIO_CASES)
    readme = (SCENARIOS / "README.md").read_text()
    listed = re.findall(r"^\| \[`([a-z0-9-]+)`\]\(([a-z0-9-]+)/Pulumi\.([a-z0-9]+)\.yaml\) \|", readme, re.MULTILINE)
    assert [(name, stack) for name, directory, stack in listed if name == directory] == [
        (name, scenario_stack(name)) for name in SCENARIO_CASES]
    for name, scenario in SCENARIO_CASES.items():
        own = (SCENARIOS / name / "policy-config.json").exists()
        assert own == any(v.config == "own" for v in scenario.verdicts), name
        assert len(list((SCENARIOS / name).iterdir())) == 1 + own, f"{name}: a stack file and its policy config only"


def test_the_defaults_scenario_is_the_smallest_file_the_settings_accept(tmp_path: Path) -> None:
    """Leaving out any key it gives (or any sub-key of one) is refused, by the CLI's check of Pulumi.yaml's required
    keys or by the settings."""
    document = yaml.safe_load(scenario_file("defaults").read_text())
    stack_settings("dev", scenario_file("defaults"), today=TODAY)  # as it is: accepted

    def refused(config: dict[str, Any]) -> bool:
        path = tmp_path / "Pulumi.dev.yaml"
        path.write_text(yaml.safe_dump({"config": config}))
        try:
            stack_settings("dev", path, today=TODAY)
        except (LoadError, SettingsError):
            return True
        return False

    config = document["config"]
    for key, value in config.items():
        assert refused({k: v for k, v in config.items() if k != key}), key
        item = value[0] if isinstance(value, list) else value
        if isinstance(item, dict):
            for sub in item:
                smaller = {k: v for k, v in item.items() if k != sub}
                assert refused({**config, key: [smaller] if isinstance(value, list) else smaller}), f"{key}.{sub}"



def test_dated_exemptions_are_checked_from_a_copy_dated_ahead_of_today() -> None:
    """maximal's exemptions lapse on the date written in the file; the check runs a copy 150 days ahead of today."""
    written = yaml.safe_load(scenario_file("maximal").read_text())["config"]["aoai-platform:guardrails"]
    run = scenario_values("maximal")["guardrails"]
    ahead = (dt.date.today() + dt.timedelta(days=150)).isoformat()
    assert [e["expiresOn"] for e in run["exemptions"]] == [ahead] * len(written["exemptions"]) == [ahead, ahead]
    assert {e["expiresOn"] for e in written["exemptions"]} == {"2027-05-28"}
    assert scenario_run_file("maximal").relative_to(ROOT).parts[:2] == ("build", "scenarios")
    assert scenario_run_file("defaults") == scenario_file("defaults"), "an undated scenario runs as written"
