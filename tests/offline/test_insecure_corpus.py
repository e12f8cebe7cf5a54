"""Insecure variations of the prod stack, each of which the gate must reject with the right policy named.

Config variations go through the real program (values the settings accept but the prod policy config forbids);
resource variations change the captured graph, as a component bug or a hand edit would, in the inputs resource
policies read and the outputs stack policies read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from offline.engine import Graph, run_program
from tests.offline.helpers import remove, resource, set_both, varied
from tests.support import stack_values

ACCOUNT = "aoai-prod-swc-openai-account"
VAULT = "aoai-prod-swc-cmk-vault"
KEY = "aoai-prod-swc-cmk-key"
GPT41 = "aoai-prod-swc-openai-deployment-gpt-4.1"
CHAT = "aoai-prod-swc-openai-deployment-chat"
READERS = "aoai-prod-swc-access-account-7d3e1c52-5e0bd9bd"
SUBSCRIPTION = "/subscriptions/00000000-0000-4000-8000-00000000a0a1"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"


@dataclass(frozen=True)
class Case:
    """One insecure variation: what changes, the policy that must reject it and the resource it must name."""

    id: str
    policy: str
    resource: str | None
    config: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    mutate: Callable[[Graph], None] | None = None


def _deployments(change: Callable[[dict[str, Any]], None], model: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def overrides(base: dict[str, Any]) -> dict[str, Any]:
        deployments = copy.deepcopy(base["deployments"])
        for deployment in deployments:
            if deployment["model"] == model:
                change(deployment)
        return {"deployments": deployments}
    return overrides


def _role(role_guid: str, scope: str | None = None) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        assignment = resource(graph, READERS)
        if scope is not None:
            set_both(assignment, "scope", scope)
        base = assignment.inputs["scope"] if scope is None else scope
        set_both(assignment, "roleDefinitionId", f"{base.split('/providers/')[0] if scope else SUBSCRIPTION}"
                                                 f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}")
    return mutate


def _filter_not_blocking(graph: Graph) -> None:
    policy = resource(graph, "aoai-prod-swc-openai-filter-default")
    filters = copy.deepcopy(policy.inputs["properties"]["contentFilters"])
    for item in filters:
        if item["name"] == "Hate":
            item["blocking"] = False
    set_both(policy, "properties.contentFilters", filters)


def _endpoint_group(graph: Graph) -> None:
    endpoint = resource(graph, "aoai-prod-swc-openai-pe")
    connections = copy.deepcopy(endpoint.inputs["privateLinkServiceConnections"])
    connections[0]["groupIds"] = ["vault"]
    set_both(endpoint, "privateLinkServiceConnections", connections)


def _logs_to_other_region(graph: Graph) -> None:
    workspace = resource(graph, "aoai-prod-frc-monitoring-workspace").outputs["id"]
    set_both(resource(graph, "aoai-prod-swc-openai-diagnostics"), "workspaceId", workspace)


def _no_audit_log(graph: Graph) -> None:
    setting = resource(graph, "aoai-prod-swc-openai-diagnostics")
    set_both(setting, "logs", [log for log in setting.inputs["logs"] if log.get("category") != "Audit"])


def _missing_owner_tag(graph: Graph) -> None:
    vault = resource(graph, VAULT)
    set_both(vault, "tags", {k: v for k, v in vault.inputs["tags"].items() if k != "owner"})


def _weaker_key_role(graph: Graph) -> None:
    access = resource(graph, "aoai-prod-swc-cmk-key-access")
    set_both(access, "roleDefinitionId", access.inputs["roleDefinitionId"].rsplit("/", 1)[0] + f"/{CRYPTO_USER}")


def _unprotected(graph: Graph) -> None:
    resource(graph, ACCOUNT).protect = False


CONFIG_CASES = [
    Case("protect-off", "aoai-protect-data-resources", ACCOUNT,
         config=lambda b: {"protection": {"protect": False, "locks": True}}),
    Case("locks-off", "aoai-delete-locks", VAULT, config=lambda b: {"protection": {"protect": True, "locks": False}}),
    Case("short-log-retention", "aoai-log-retention", "aoai-prod-swc-monitoring-workspace",
         config=lambda b: {"monitoring": {**b["monitoring"], "retentionDays": 90}}),
    Case("software-key", "aoai-cmk-key-strength", KEY,
         config=lambda b: {"keyVault": {**b["keyVault"], "keyType": "RSA", "sku": "standard"}}),
    # The settings refuse a CMK Deny over an unencrypted account, so the case lowers that guardrail to audit.
    Case("no-customer-managed-key", "aoai-account-cmk", ACCOUNT,
         config=lambda b: {"keyVault": {**b["keyVault"], "customerManagedKey": False},
                           "guardrails": {**b["guardrails"], "controls": {"accountCustomerManagedKey": "audit"}}}),
    Case("user-principal", "aoai-no-user-principals", None,
         config=lambda b: {"access": b["access"] + [{"principalId": "0f0e0d0c-0b0a-4909-8807-060504030201",
                                                      "principalType": "User",
                                                      "role": "Cognitive Services OpenAI User"}]}),
    Case("chat-model-not-provisioned", "aoai-deployment-provisioned-throughput", CHAT,
         config=lambda b: {"deployments": [
             {k: v for k, v in d.items() if k != "spilloverTo"} | ({"sku": "DataZoneStandard", "capacity": 100}
                                                                   if d.get("name") == "chat" else {})
             for d in b["deployments"]]}),
    Case("provisioned-without-spillover", "aoai-provisioned-spillover", CHAT,
         config=lambda b: {"deployments": [{k: v for k, v in d.items() if k != "spilloverTo"}
                                           for d in b["deployments"]]}),
    Case("lenient-content-filter", "aoai-deployment-content-filter", None,
         config=lambda b: {"contentFilters": {"default": {**b["contentFilters"]["default"],
                                                          "severityThreshold": "High"}}}),
    Case("global-sku-in-data-zone-stack", "aoai-deployment-sku-residency", GPT41,
         config=lambda b: {"residency": {**b["residency"], "mode": "global"},
                           **_deployments(lambda d: d.update(sku="GlobalStandard"), "gpt-4.1")(b)}),
    Case("unevaluated-model-added", "aoai-deployment-model-allowed", "aoai-prod-swc-openai-deployment-gpt-4.1-mini",
         config=lambda b: {"deployments": [*b["deployments"], {"model": "gpt-4.1-mini", "version": "2025-04-14",
                                                                "sku": "DataZoneStandard", "capacity": 10}]}),
]

RESOURCE_CASES = [
    Case("public-network-access", "aoai-account-public-network-disabled", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.publicNetworkAccess", "Enabled")),
    Case("network-acls-allow", "aoai-account-network-acls-deny", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.networkAcls.defaultAction", "Allow")),
    Case("public-ip-rule", "aoai-account-network-acls-deny", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.networkAcls.ipRules",
                                   [{"value": "203.0.113.0/24"}])),
    Case("api-keys-enabled", "aoai-account-local-auth-disabled", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.disableLocalAuth", False)),
    Case("no-managed-identity", "aoai-account-managed-identity", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "identity", ...)),
    Case("no-encryption-block", "aoai-account-cmk", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.encryption", ...)),
    Case("outbound-unrestricted", "aoai-account-outbound-restricted", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.restrictOutboundNetworkAccess", False)),
    Case("no-custom-subdomain", "aoai-account-custom-subdomain", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.customSubDomainName", ...)),
    Case("unapproved-account-kind", "aoai-account-kind-sku", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "kind", "TextAnalytics")),
    Case("account-outside-allowed-regions", "aoai-allowed-regions", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "location", "eastus")),
    Case("vault-outside-allowed-regions", "aoai-allowed-regions", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "location", "westeurope")),
    Case("global-standard-sku", "aoai-deployment-sku-residency", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "sku.name", "GlobalStandard")),
    Case("unapproved-model", "aoai-deployment-model-allowed", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "properties.model.name", "gpt-35-turbo")),
    Case("auto-upgrade", "aoai-deployment-version-pinned", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "properties.versionUpgradeOption",
                                   "OnceCurrentVersionExpired")),
    Case("unpinned-version", "aoai-deployment-version-pinned", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "properties.model.version", ...)),
    Case("provisioned-capacity-too-large", "aoai-deployment-provisioned-throughput", CHAT,
         mutate=lambda g: set_both(resource(g, CHAT), "sku.capacity", 1000)),
    Case("retired-model-version", "aoai-deployment-not-retired", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "properties.model", {"format": "OpenAI", "name": "o4-mini",
                                                                             "version": "2025-04-16"})),
    Case("deployment-without-filter", "aoai-deployment-content-filter", GPT41,
         mutate=lambda g: set_both(resource(g, GPT41), "properties.raiPolicyName", ...)),
    Case("filter-not-blocking", "aoai-deployment-content-filter", "aoai-prod-swc-openai-filter-default",
         mutate=_filter_not_blocking),
    Case("purge-protection-off", "aoai-key-vault-protection", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "properties.enablePurgeProtection", False)),
    Case("vault-public", "aoai-key-vault-protection", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "properties.publicNetworkAccess", "Enabled")),
    Case("vault-access-policies", "aoai-key-vault-protection", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "properties.enableRbacAuthorization", False)),
    Case("key-size-4096", "aoai-cmk-key-strength", KEY,
         mutate=lambda g: set_both(resource(g, KEY), "properties.keySize", 4096)),
    Case("software-key-type", "aoai-cmk-key-strength", KEY,
         mutate=lambda g: set_both(resource(g, KEY), "properties.kty", "RSA")),
    Case("key-role-too-broad", "aoai-cmk-key-access", ACCOUNT, mutate=_weaker_key_role),
    Case("owner-at-account-scope", "aoai-no-privileged-roles", READERS, mutate=_role(OWNER)),
    Case("contributor-at-subscription-scope", "aoai-no-privileged-roles", READERS,
         mutate=_role(CONTRIBUTOR, scope=SUBSCRIPTION)),
    Case("unknown-role-definition", "aoai-known-role-definitions", READERS,
         mutate=_role("11111111-2222-4333-8444-555555555555")),
    Case("account-lock-removed", "aoai-delete-locks", ACCOUNT,
         mutate=lambda g: remove(g, "aoai-prod-swc-openai-account-lock")),
    Case("account-not-protected", "aoai-protect-data-resources", ACCOUNT, mutate=_unprotected),
    Case("account-diagnostics-removed", "aoai-diagnostic-settings", ACCOUNT,
         mutate=lambda g: remove(g, "aoai-prod-swc-openai-diagnostics")),
    Case("audit-log-not-collected", "aoai-diagnostic-settings", ACCOUNT, mutate=_no_audit_log),
    Case("logs-leave-the-region", "aoai-diagnostics-same-region", "aoai-prod-swc-openai-diagnostics",
         mutate=_logs_to_other_region),
    Case("short-workspace-retention", "aoai-log-retention", "aoai-prod-swc-monitoring-workspace",
         mutate=lambda g: set_both(resource(g, "aoai-prod-swc-monitoring-workspace"), "retentionInDays", 30)),
    Case("throttling-alert-removed", "aoai-throttling-alert", ACCOUNT,
         mutate=lambda g: remove(g, "aoai-prod-swc-alerts-throttling")),
    Case("account-private-endpoint-removed", "aoai-account-private-endpoint", ACCOUNT,
         mutate=lambda g: remove(g, "aoai-prod-swc-openai-pe")),
    Case("private-endpoint-wrong-group", "aoai-account-private-endpoint", "aoai-prod-swc-openai-pe",
         mutate=_endpoint_group),
    Case("private-dns-zone-group-removed", "aoai-account-private-endpoint", "aoai-prod-swc-openai-pe",
         mutate=lambda g: remove(g, "aoai-prod-swc-openai-pe-dns")),
    Case("required-tag-missing", "aoai-required-tags", VAULT, mutate=_missing_owner_tag),
]


def test_the_corpus_is_large_and_names_many_policies() -> None:
    cases = CONFIG_CASES + RESOURCE_CASES
    assert len(cases) >= 30
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.policy for c in cases}) >= 25


def test_unchanged_prod_passes_every_policy(graphs: dict[str, Graph], gate) -> None:
    result = gate(graphs["prod"])
    assert result.violations == () and result.exit_code == 0


def _assert_rejected(result, case: Case) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, f"{case.id}: the gate let an insecure variation through"
    named = {(v.policy, v.resource_name) for v in result.mandatory}
    assert case.policy in {policy for policy, _ in named}, f"{case.id}: expected {case.policy}, got {sorted(named)}"
    if case.resource is not None:
        assert (case.policy, case.resource) in named, f"{case.id}: {case.policy} must name {case.resource}"


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_gate_rejects_insecure_config(case: Case, gate) -> None:
    assert case.config is not None
    graph = run_program("prod", config_overrides=case.config(stack_values("prod")))
    _assert_rejected(gate(graph), case)


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=lambda c: c.id)
def test_gate_rejects_insecure_resource(case: Case, graphs: dict[str, Graph], gate) -> None:
    assert case.mutate is not None
    graph = varied(graphs["prod"])
    case.mutate(graph)
    _assert_rejected(gate(graph), case)
