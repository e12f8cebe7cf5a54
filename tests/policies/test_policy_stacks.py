"""The whole pack over the real program of each stack, run under the offline mock engine.

Resource policies get each registration's inputs, stack policies every resource's outputs, as under the CLI. Each
stack must pass under its own policy config; variants that break a rule, through stack config or by editing the
captured graph (for what the program's settings refuse outright), must be caught by the right policy.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aoai_policies.pack import POLICIES
from policy_harness import Finding, evaluate, mandatory, pack_config
from pulumi_policy import EnforcementLevel, StackValidationPolicy

from offline.engine import run_program
from tests.support import variant

ROOT = Path(__file__).resolve().parents[2]
OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def prod_setting(key: str, **changes: Any) -> Any:
    """A top-level setting of Pulumi.prod.yaml, with some of its fields changed."""
    value = copy.deepcopy(yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"][f"aoai-platform:{key}"])
    if changes:
        value.update(changes)
    return value


def counts(findings: list[Finding]) -> dict[str, int]:
    return dict(Counter(f.policy for f in mandatory(findings)))


def test_prod_passes_every_policy_under_its_config(program_graphs: Callable[[str], Any]) -> None:
    findings = evaluate(program_graphs("prod"), pack_config("prod"))
    assert [(f.policy, f.message) for f in findings] == []


def test_dev_passes_every_mandatory_policy_and_warns_about_its_user_assignment(
        program_graphs: Callable[[str], Any]) -> None:
    findings = evaluate(program_graphs("dev"), pack_config("dev"))
    assert mandatory(findings) == []
    (advisory,) = findings
    assert advisory.level == EnforcementLevel.ADVISORY and advisory.policy == "aoai-no-user-principals"
    assert "instead of user '4c0f8a7d-6a59-4b1e-8f0e-2a8d6c5e7b02'" in advisory.message


def test_dev_under_the_prod_config_fails_exactly_where_dev_is_relaxed(program_graphs: Callable[[str], Any]) -> None:
    assert counts(evaluate(program_graphs("dev"), pack_config("prod"))) == {
        "aoai-cmk-key-strength": 1, "aoai-key-vault-protection": 1, "aoai-no-user-principals": 1,
        "aoai-log-retention": 1, "aoai-throttling-alert": 1,
        "aoai-protect-data-resources": 4, "aoai-delete-locks": 4,
        # dev's data is classified internal; prod admits confidential and restricted only.
        "aoai-required-tags": 24,
        # dev's guardrails audit: the nine built-ins that offer Deny are assigned with Audit; no on-call to page
        # (no change alerts, vault audit alert or key near-expiry alert); prod owns the Defender plan.
        "aoai-guardrail-assignments": 9, "aoai-change-alerts": 2, "aoai-key-expiry-alert": 1,
        "aoai-defender-for-ai": 1,
        # dev's resources say environment 'dev', prod's config expects 'prod'; dev grants OpenAI Contributor.
        "aoai-environment-tag": 24, "aoai-role-assignment-scope": 1}


def test_a_first_preview_enforces_what_is_known_and_defers_what_is_computed() -> None:
    stack_policies = {p.name for p in POLICIES if isinstance(p, StackValidationPolicy)}
    # Role definition ids come from the deploying subscription, known at preview: the role policies decide then.
    decided = {"aoai-no-privileged-roles", "aoai-known-role-definitions"}
    for stack in ("prod", "dev"):
        findings = evaluate(variant(stack, first_preview=True), pack_config(stack))
        assert mandatory(findings) == []
        deferred = {f.policy for f in findings if "during preview" in f.message}
        assert deferred <= stack_policies
        assert not deferred & decided
    unprotected = variant("prod", first_preview=True, overrides={"protection": {"protect": False, "locks": False}})
    assert counts(evaluate(unprotected, pack_config("prod"))) == {"aoai-protect-data-resources": 8}


def _without_spillover(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for deployment in deployments:
        deployment.pop("spilloverTo", None)
    return deployments


def _deployments(**changes: Any) -> list[dict[str, Any]]:
    deployments = prod_setting("deployments")
    for index, fields in changes.items():
        deployments[int(index[1:])].update(fields)
    return deployments


CONFIG_VARIANTS: dict[str, tuple[dict[str, Any], dict[str, int]]] = {
    # Variations the insecure corpus serves to the gate too (tests/offline/test_insecure_corpus.py) are written as it
    # writes them: the program runs once for both (tests.support.variant).
    "protect off": ({"protection": {"protect": False, "locks": True}}, {"aoai-protect-data-resources": 8}),
    "locks off": ({"protection": {"protect": True, "locks": False}}, {"aoai-delete-locks": 8}),
    "90 days of logs": ({"monitoring": prod_setting("monitoring", retentionDays=90)}, {"aoai-log-retention": 2}),
    "no alerts": ({"monitoring": prod_setting("monitoring", alerts={"enabled": False})}, {"aoai-throttling-alert": 2}),
    "software key": ({"keyVault": prod_setting("keyVault", keyType="RSA", sku="standard")},
                     {"aoai-cmk-key-strength": 2}),
    "rotation every 400 days": ({"keyVault": prod_setting("keyVault", rotateAfter="P400D", keyLifetime="P2Y")},
                                {"aoai-cmk-key-strength": 2, "aoai-key-lifetime": 2}),
    # The settings refuse a CMK Deny over an unencrypted account, so the variant lowers that guardrail to audit,
    # which the prod config refuses in turn. The identity still holds the encryption role, though no account uses it.
    "no customer-managed key": ({"keyVault": prod_setting("keyVault", customerManagedKey=False),
                                 "guardrails": prod_setting("guardrails", controls={
                                     "accountCustomerManagedKey": "audit"})},
                                {"aoai-account-cmk": 2, "aoai-account-managed-identity": 2,
                                 "aoai-guardrail-assignments": 2, "aoai-key-vault-management-roles": 2}),
    "trusted services past the firewall": ({"account": prod_setting("account", trustedServicesBypass=True)},
                                           {"aoai-account-network-acls-deny": 2}),
    "automatic model upgrades": ({"deployments": _deployments(d1={"versionUpgradeOption":
                                                                  "OnceNewDefaultVersionAvailable"})},
                                 {"aoai-deployment-version-pinned": 2}),
    "the chat deployment on shared quota": ({"deployments": _without_spillover(_deployments(
        d0={"sku": "DataZoneStandard", "capacity": 100}))}, {"aoai-deployment-provisioned-throughput": 2}),
    "provisioned chat without spillover": ({"deployments": _without_spillover(prod_setting("deployments"))},
                                           {"aoai-provisioned-spillover": 2}),
    "weak content filter": ({"contentFilters": {"default": {**prod_setting("contentFilters")["default"],
                                                            "severityThreshold": "High"}}},
                            {"aoai-deployment-content-filter": 16}),
    "no jailbreak shield": ({"contentFilters": {"default": {"jailbreak": False}}},
                            {"aoai-deployment-content-filter": 2}),
    "global SKU": ({"residency": prod_setting("residency", mode="global"),
                    "deployments": _deployments(d2={"sku": "GlobalStandard"})},
                   {"aoai-deployment-sku-residency": 2}),
    "a user principal": ({"access": [*prod_setting("access"), {
        "principalId": "0f0e0d0c-0b0a-4909-8807-060504030201", "principalType": "User",
        "role": "Cognitive Services OpenAI User"}]}, {"aoai-no-user-principals": 2}),
}


@pytest.mark.parametrize("name", list(CONFIG_VARIANTS))
def test_prod_variants_that_break_a_rule_are_caught_by_that_rule(name: str) -> None:
    overrides, expected = CONFIG_VARIANTS[name]
    graph = variant("prod", overrides)
    assert counts(evaluate(graph, pack_config("prod"))) == expected


def test_prod_refuses_data_classified_below_confidential() -> None:
    tags = dict(prod_setting("tags"), dataClassification="internal")
    findings = evaluate(run_program("prod", config_overrides={"tags": tags}), pack_config("prod"))
    assert {f.policy for f in mandatory(findings)} == {"aoai-required-tags"}
    assert "Set tag 'dataClassification'" in mandatory(findings)[0].message


def edit(graph: Any, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to a resource's inputs and outputs alike, as if the program had registered it so."""
    resource = graph.named(name)
    change(resource.inputs)
    change(resource.outputs)


def drop(graph: Any, *names: str) -> None:
    """Remove resources from the graph, as if the program had not registered them."""
    graph.resources = [r for r in graph.resources if r.name not in names]


def _global_sku(g: Any) -> None:
    edit(g, "aoai-prod-swc-openai-deployment-gpt-4.1", lambda p: p["sku"].update(name="GlobalStandard"))


def _owner(g: Any) -> None:
    edit(g, "aoai-prod-swc-access-account-7d3e1c52-5e0bd9bd", lambda p: p.update(
        roleDefinitionId=p["roleDefinitionId"].rsplit("/", 1)[0] + f"/{OWNER_ROLE}"))


def _key_role_on_subscription(g: Any) -> None:
    edit(g, "aoai-prod-frc-cmk-key-access", lambda p: p.update(scope="/" + "/".join(p["scope"].split("/")[1:3])))


def _logs_abroad(g: Any) -> None:
    workspace = g.named("aoai-prod-frc-monitoring-workspace").outputs["id"]
    edit(g, "aoai-prod-swc-openai-diagnostics", lambda p: p.update(workspaceId=workspace))


GRAPH_VARIANTS: dict[str, tuple[Callable[[Any], None], dict[str, int]]] = {
    "a Global deployment SKU": (_global_sku, {"aoai-deployment-sku-residency": 1}),
    "an Owner assignment": (_owner, {"aoai-no-privileged-roles": 1, "aoai-role-assignment-scope": 1}),
    "public network access": (lambda g: edit(g, "aoai-prod-swc-openai-account", lambda p: p["properties"].update(
        publicNetworkAccess="Enabled")), {"aoai-account-public-network-disabled": 1}),
    "API keys enabled": (lambda g: edit(g, "aoai-prod-frc-openai-account", lambda p: p["properties"].update(
        disableLocalAuth=False)), {"aoai-account-local-auth-disabled": 1}),
    "no account private endpoint": (lambda g: drop(g, "aoai-prod-swc-openai-pe", "aoai-prod-swc-openai-pe-dns"),
                                    {"aoai-account-private-endpoint": 1}),
    "no vault DNS zone group": (lambda g: drop(g, "aoai-prod-frc-cmk-pe-dns"), {"aoai-vault-private-endpoint": 1}),
    "no vault diagnostics": (lambda g: drop(g, "aoai-prod-frc-cmk-diagnostics"), {"aoai-diagnostic-settings": 1}),
    "no purge protection": (lambda g: edit(g, "aoai-prod-swc-cmk-vault", lambda p: p["properties"].update(
        enablePurgeProtection=False)), {"aoai-key-vault-protection": 1}),
    "the key role on the subscription": (_key_role_on_subscription, {
        "aoai-cmk-key-access": 2, "aoai-role-assignment-scope": 1, "aoai-cmk-identity-single-grant": 1}),
    "no content filter": (lambda g: drop(g, "aoai-prod-swc-openai-filter-default"),
                          {"aoai-deployment-content-filter": 5}),
    "logs sent abroad": (_logs_abroad, {"aoai-diagnostics-same-region": 1}),
    "no throttling alert": (lambda g: drop(g, "aoai-prod-frc-alerts-throttling"), {"aoai-throttling-alert": 1}),
    "no key lock": (lambda g: drop(g, "aoai-prod-swc-cmk-key-lock"), {"aoai-delete-locks": 1}),
    "a missing tag": (lambda g: edit(g, "aoai-prod-swc-cmk-identity", lambda p: p["tags"].pop("costCenter")),
                      {"aoai-required-tags": 1}),
    "an unapproved model version": (lambda g: edit(g, "aoai-prod-swc-openai-deployment-text-embedding-3-large",
                                                    lambda p: p["properties"]["model"].update(version="2")),
                                    {"aoai-deployment-model-allowed": 1}),
    "a retired model version": (lambda g: edit(g, "aoai-prod-swc-openai-deployment-gpt-4.1", lambda p: p[
        "properties"]["model"].update(name="o3", version="2025-04-16")),
        {"aoai-deployment-model-allowed": 1, "aoai-deployment-not-retired": 1}),
    "spillover to a global deployment": (lambda g: edit(g, "aoai-prod-swc-openai-deployment-chat-paygo", lambda p: p[
        "sku"].update(name="GlobalStandard")), {"aoai-deployment-sku-residency": 1, "aoai-provisioned-spillover": 1}),
}


@pytest.mark.parametrize("variant", list(GRAPH_VARIANTS))
def test_prod_graph_edits_the_settings_would_refuse_are_caught(program_graphs: Callable[[str], Any],
                                                               variant: str) -> None:
    change, expected = GRAPH_VARIANTS[variant]
    graph = copy.deepcopy(program_graphs("prod"))
    change(graph)
    assert counts(evaluate(graph, pack_config("prod"))) == expected


def test_a_break_glass_group_listed_in_the_policy_config_may_hold_crypto_officer_in_prod() -> None:
    """The documented path for Key Vault data-plane work (docs/key-rotation.md): the grant passes only once the
    group is a reviewed break-glass principal, and only while it holds no role on the account."""
    officers = "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    access = [*prod_setting("access"), {"principalId": officers, "principalType": "Group",
                                        "role": "Key Vault Crypto Officer", "scope": "keyVault"}]
    graph = run_program("prod", config_overrides={"access": access})
    assert counts(evaluate(graph, pack_config("prod"))) == {"aoai-key-vault-management-roles": 2}
    config = copy.deepcopy(pack_config("prod"))
    config["aoai-key-vault-management-roles"]["breakGlassPrincipalIds"] = [officers]
    assert counts(evaluate(graph, config)) == {}
    with_use = run_program("prod", config_overrides={"access": [*access, {
        "principalId": officers, "principalType": "Group", "role": "Cognitive Services OpenAI User"}]})
    assert counts(evaluate(with_use, config)) == {"aoai-role-separation-of-duties": 2}
