"""Insecure variations of the prod stack, each of which the gate must reject with the right policy named.

Config variations go through the real program (values the settings accept but the prod policy config forbids);
resource variations change the captured graph, as a component bug or a hand edit would, in the inputs resource
policies read and the outputs stack policies read. The red-team round of issue 10 added a variation for every way
around the pack it found, by theme: resources it never saw, roles, network placement, exfiltration, keys, log sinks and
alerting, governance and content, malformed values.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offline.engine import Graph
from tests.offline.helpers import add, focused_config, remove, resource, set_both, varied
from tests.support import stack_values, variant

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
    theme: str = "baseline"


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


# --- the red-team round of issue 10 ---------------------------------------------------------------------------------

THEMES = ("types", "roles", "network", "exfiltration", "keys", "logs", "governance", "shapes")
ADVERSARY_RULES = (
    "aoai-allowed-resource-types", "aoai-property-shapes", "aoai-no-security-ignore-changes", "aoai-environment-tag",
    "aoai-stack-identities-only", "aoai-role-assignment-scope", "aoai-key-vault-management-roles",
    "aoai-role-separation-of-duties", "aoai-cmk-identity-single-grant", "aoai-role-principal-types",
    "aoai-private-endpoint-placement", "aoai-endpoint-subnet-nsg", "aoai-no-network-rules", "aoai-no-vnet-peering",
    "aoai-outbound-fqdn-allow-list", "aoai-key-operations", "aoai-key-not-exportable", "aoai-key-lifetime",
    "aoai-diagnostic-sinks", "aoai-workspace-ingestion", "aoai-alert-notifies", "aoai-alert-thresholds",
    "aoai-protected-material-filter",
)

RG = f"{SUBSCRIPTION}/resourceGroups/rg-aoai-prod-swc"
NSG = "aoai-prod-swc-network-nsg"
SUBNET = "aoai-prod-swc-network-pe-subnet"
VNET = "aoai-prod-swc-network-vnet"
WORKSPACE = "aoai-prod-swc-monitoring-workspace"
ACTION_GROUP = "aoai-prod-swc-monitoring-action-group"
THROTTLING = "aoai-prod-swc-alerts-throttling"
ACCOUNT_PE = "aoai-prod-swc-openai-pe"
VAULT_PE = "aoai-prod-swc-cmk-pe"
DIAGNOSTICS = "aoai-prod-swc-openai-diagnostics"
FILTER = "aoai-prod-swc-openai-filter-default"
KEY_ACCESS = "aoai-prod-swc-cmk-key-access"
GROUP = "3f2c9b1e-6d4a-4c8e-9f0b-2a7d5e1c8b06"
OPS = "2e4d6c8b-0a1f-4e3d-9b5c-7a6f8e9d0c05"
FOREIGN_SUBNET = (f"{SUBSCRIPTION}/resourceGroups/rg-partner/providers/Microsoft.Network/virtualNetworks/vnet-partner/"
                  f"subnets/default")
DEV_VNET = f"{SUBSCRIPTION}/resourceGroups/rg-aoai-dev-swc/providers/Microsoft.Network/virtualNetworks/vnet-aoai-dev-swc"
ROLES = {"KV_ADMIN": "00482a5a-887f-4fb3-b363-3b7fe8e74483", "CRYPTO_OFFICER": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
         "CMK": "e147488a-f6f5-4113-8e2d-b22465e65bf6", "OPENAI_USER": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
         "MONITORING_READER": "43d0d8ad-25c7-4714-9337-8ba259a9fe05"}
# The offline engine's principal id for the swc CMK identity (uuid5 of its ARM id); a test holds it to the graph.
CMK_PRINCIPAL_SWC = str(uuid.uuid5(uuid.NAMESPACE_URL, "principal|" + RG + "/providers/Microsoft.ManagedIdentity/"
                                                                           "userAssignedIdentities/id-aoai-prod-swc-cmk"))


def _id(graph: Graph, name: str) -> str:
    return str(resource(graph, name).outputs["id"])


def _grant(name: str, role: str, scope: str | Callable[[Graph], str], principal: str = GROUP,
           principal_type: str = "Group", type_: str = "azure-native:authorization:RoleAssignment",
           **extra: Any) -> Callable[[Graph], None]:
    """Add a role assignment, as a component bug or a hand-written resource would."""
    def mutate(graph: Graph) -> None:
        where = scope(graph) if callable(scope) else scope
        inputs = {"scope": where, "principalId": principal, "principalType": principal_type,
                  "roleDefinitionId": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
                                      f"{ROLES.get(role, role)}", **extra}
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        add(graph, type_, name, {**inputs, "roleAssignmentName": guid},
            {**inputs, "id": f"{where.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{guid}"})
    return mutate


def _readers_role(definition: str) -> Callable[[Graph], None]:
    return lambda g: set_both(resource(g, READERS), "roleDefinitionId", definition)


def _access(*grants: dict[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {"access": base["access"] + list(grants)}


def _setting(key: str, **changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {key: {**base[key], **changes}}


def _alerts(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda base: {"monitoring": {**base["monitoring"], "alerts": {**base["monitoring"]["alerts"], **changes}}}


def _add_typed(type_: str, name: str, inputs: dict[str, Any]) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        add(graph, type_, name, inputs, {**inputs, "id": f"{RG}/providers/{name}"})
    return mutate


def _public_account_through_versioned_package(graph: Graph) -> None:
    account = resource(graph, ACCOUNT)
    inputs = copy.deepcopy(account.inputs)
    inputs.update(accountName="aoai-prod-swc-shadow")
    inputs["properties"].update(publicNetworkAccess="Enabled", disableLocalAuth=False,
                                customSubDomainName="aoai-prod-swc-shadow")
    outputs = copy.deepcopy(account.outputs)
    outputs.update(id=_id(graph, ACCOUNT) + "-shadow")
    outputs["properties"].update(publicNetworkAccess="Enabled", disableLocalAuth=False)
    add(graph, "azure-native:cognitiveservices/v20250601:Account", "shadow-account", inputs, outputs)


def _rule(rule: dict[str, Any]) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        nsg = resource(graph, NSG)
        rules = [rule, *copy.deepcopy(nsg.inputs["securityRules"])]
        set_both(nsg, "securityRules", rules)
    return mutate


def _drop_deny_all(graph: Graph) -> None:
    nsg = resource(graph, NSG)
    set_both(nsg, "securityRules", [r for r in nsg.inputs["securityRules"] if r["access"] != "Deny"])


def _partner_endpoint(graph: Graph) -> None:
    endpoint = resource(graph, ACCOUNT_PE)
    inputs = copy.deepcopy(endpoint.inputs)
    inputs.update(privateEndpointName="pe-partner", subnet={"id": FOREIGN_SUBNET})
    add(graph, "azure-native:network:PrivateEndpoint", "partner-pe", inputs,
        {**copy.deepcopy(endpoint.outputs), "subnet": {"id": FOREIGN_SUBNET},
         "id": f"{RG}/providers/Microsoft.Network/privateEndpoints/pe-partner"})


def _manual_connection(graph: Graph) -> None:
    endpoint = resource(graph, VAULT_PE)
    connections = copy.deepcopy(endpoint.inputs["privateLinkServiceConnections"])
    set_both(endpoint, "privateLinkServiceConnections", ...)
    set_both(endpoint, "manualPrivateLinkServiceConnections", connections)


def _inline_subnet(graph: Graph) -> None:
    set_both(resource(graph, VNET), "subnets", [{"name": "private-endpoints", "addressPrefix": "10.40.1.0/24",
                                                "privateEndpointNetworkPolicies": "Enabled"}])


def _key(path: str, value: Any) -> Callable[[Graph], None]:
    return lambda g: set_both(resource(g, KEY), f"properties.{path}", value)


def _rotation(actions: list[dict[str, Any]], expiry: str | None = "P1Y") -> Callable[[Graph], None]:
    policy: dict[str, Any] = {"lifetimeActions": actions}
    if expiry is not None:
        policy["attributes"] = {"expiryTime": expiry}
    return _key("rotationPolicy", policy)


def _ignore(name: str, *paths: str) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        resource(graph, name).ignore_changes = list(paths)
    return mutate


def _foreign_identity(graph: Graph) -> None:
    foreign = f"{SUBSCRIPTION}/resourceGroups/rg-shared/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci"
    account = resource(graph, ACCOUNT)
    account.inputs["identity"]["userAssignedIdentities"].append(foreign)
    account.outputs["identity"]["userAssignedIdentities"][foreign] = {
        "principalId": "5b0c7c5e-0000-4000-8000-000000000001", "clientId": "5b0c7c5e-0000-4000-8000-000000000002"}


def _filters(change: Callable[[dict[str, Any]], None]) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        policy = resource(graph, FILTER)
        filters = copy.deepcopy(policy.inputs["properties"]["contentFilters"])
        for item in filters:
            change(item)
        set_both(policy, "properties.contentFilters", filters)
    return mutate


def _threshold(value: Any, **extra: Any) -> Callable[[Graph], None]:
    def mutate(graph: Graph) -> None:
        alert = resource(graph, THROTTLING)
        criteria = copy.deepcopy(alert.inputs["criteria"])
        criteria["allOf"][0].update(threshold=value, **extra)
        set_both(alert, "criteria", criteria)
    return mutate


def _epoch(days_from_now: int) -> float:
    return float(int(time.time()) + days_from_now * 86400)


NEW_CONFIG_CASES = [
    Case("openai-contributor-in-prod", "aoai-role-assignment-scope", "aoai-prod-swc-access-account-3f2c9b1e-a001fd3d",
         config=_access({"principalId": GROUP, "principalType": "Group",
                         "role": "Cognitive Services OpenAI Contributor"}), theme="roles"),
    Case("cmk-identity-granted-the-models", "aoai-cmk-identity-single-grant",
         f"aoai-prod-swc-access-account-{CMK_PRINCIPAL_SWC[:8]}-5e0bd9bd",
         config=_access({"principalId": CMK_PRINCIPAL_SWC, "principalType": "ServicePrincipal",
                         "role": "Cognitive Services OpenAI User"}), theme="roles"),
    Case("hub-subnet-nobody-approved", "aoai-private-endpoint-placement", "aoai-prod-swc-openai-pe",
         config=lambda b: {"regions": [{"location": "swedencentral", "existingSubnetId": FOREIGN_SUBNET},
                                       b["regions"][1]]}, theme="network"),
    Case("wildcard-over-every-storage-account", "aoai-outbound-fqdn-allow-list", ACCOUNT,
         config=_setting("account", allowedFqdns=["*.blob.core.windows.net"]), theme="exfiltration"),
    Case("first-key-version-valid-for-decades", "aoai-key-lifetime", KEY,
         config=_setting("keyVault", keyExpiresOn="2056-12-31"), theme="keys"),
    Case("throttling-alert-that-never-fires", "aoai-alert-thresholds", THROTTLING,
         config=_alerts(throttledRequestsThreshold=1000000), theme="logs"),
    Case("protected-material-filters-off", "aoai-protected-material-filter", FILTER,
         config=lambda b: {"contentFilters": {"default": {**b["contentFilters"]["default"],
                                                          "protectedMaterial": False}}}, theme="governance"),
    Case("prod-stack-labelled-staging", "aoai-environment-tag", None,
         # The settings refuse an environment that is not the stack's name (tests/test_settings.py); the override
         # that allows it on purpose must still not let a prod stack pass as another environment.
         config=lambda b: {"environment": "staging", "allowEnvironmentMismatch": True}, theme="governance"),
]

NEW_RESOURCE_CASES = [
    # Resources the pack never saw.
    Case("classic-provider-account", "aoai-allowed-resource-types", "classic-account",
         mutate=_add_typed("azure:cognitive/account:Account", "classic-account",
                           {"kind": "OpenAI", "skuName": "S0", "publicNetworkAccessEnabled": True,
                            "localAuthEnabled": True}), theme="types"),
    Case("arm-template-deployment", "aoai-allowed-resource-types", "template",
         mutate=_add_typed("azure-native:resources:Deployment", "template", {
             "resourceGroupName": "rg-aoai-prod-swc", "properties": {"mode": "Incremental", "template": {
                 "resources": [{"type": "Microsoft.Authorization/roleAssignments", "properties": {
                     "roleDefinitionId": OWNER, "principalId": GROUP, "scope": SUBSCRIPTION}}]}}}), theme="types"),
    Case("generic-resource", "aoai-allowed-resource-types", "generic",
         mutate=_add_typed("azure-native:resources:Resource", "generic", {
             "resourceProviderNamespace": "Microsoft.CognitiveServices", "resourceType": "accounts",
             "parentResourcePath": "", "resourceName": "aoai-shadow", "apiVersion": "2025-06-01",
             "properties": {"publicNetworkAccess": "Enabled"}}), theme="types"),
    Case("dynamic-python-provider", "aoai-allowed-resource-types", "dynamic-py",
         mutate=_add_typed("pulumi-python:dynamic:Resource", "dynamic-py", {"__provider": "pickled"}),
         theme="types"),
    Case("public-account-through-a-versioned-package", "aoai-account-public-network-disabled", "shadow-account",
         mutate=_public_account_through_versioned_package, theme="types"),
    Case("owner-through-a-generated-local-package", "aoai-no-privileged-roles", "local-owner",
         mutate=_grant("local-owner", OWNER, SUBSCRIPTION,
                       type_="azure-native_authorization_v20220401:authorization/v20220401:RoleAssignment"),
         theme="types"),
    # Roles.
    Case("data-role-at-resource-group", "aoai-role-assignment-scope", READERS,
         mutate=lambda g: set_both(resource(g, READERS), "scope", RG), theme="roles"),
    Case("data-role-at-subscription", "aoai-role-assignment-scope", "sub-readers",
         mutate=_grant("sub-readers", "OPENAI_USER", SUBSCRIPTION), theme="roles"),
    Case("data-role-at-management-group", "aoai-role-assignment-scope", "mg-readers",
         mutate=_grant("mg-readers", "OPENAI_USER", "/providers/Microsoft.Management/managementGroups/corp"),
         theme="roles"),
    Case("role-on-another-teams-account", "aoai-role-assignment-scope", "elsewhere",
         mutate=_grant("elsewhere", "OPENAI_USER", f"{SUBSCRIPTION}/resourceGroups/rg-other/providers/"
                                                   f"Microsoft.CognitiveServices/accounts/other"), theme="roles"),
    Case("key-vault-administrator-on-the-vault", "aoai-key-vault-management-roles", "kv-admins",
         mutate=_grant("kv-admins", "KV_ADMIN", lambda g: _id(g, VAULT)), theme="roles"),
    Case("crypto-officer-on-the-key", "aoai-key-vault-management-roles", "key-officers",
         mutate=_grant("key-officers", "CRYPTO_OFFICER", lambda g: _id(g, KEY), OPS), theme="roles"),
    Case("encryption-role-for-the-app-group", "aoai-key-vault-management-roles", "app-unwrap",
         mutate=_grant("app-unwrap", "CMK", lambda g: _id(g, KEY)), theme="roles"),
    Case("readers-also-manage-the-key", "aoai-role-separation-of-duties", READERS,
         mutate=_grant("readers-key", "CRYPTO_OFFICER", lambda g: _id(g, VAULT), "7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03"),
         theme="roles"),
    Case("cmk-identity-reads-metrics-too", "aoai-cmk-identity-single-grant", "cmk-metrics",
         mutate=_grant("cmk-metrics", "MONITORING_READER", lambda g: _id(g, ACCOUNT), CMK_PRINCIPAL_SWC,
                       "ServicePrincipal"), theme="roles"),
    Case("foreign-group-principal", "aoai-role-principal-types", READERS,
         mutate=lambda g: set_both(resource(g, READERS), "principalType", "ForeignGroup"), theme="roles"),
    Case("cross-tenant-delegated-identity", "aoai-role-principal-types", "lighthouse",
         mutate=_grant("lighthouse", "OPENAI_USER", lambda g: _id(g, ACCOUNT), principal_type="ServicePrincipal",
                       delegatedManagedIdentityResourceId="/subscriptions/99999999-0000-4000-8000-000000000000/"
                       "resourceGroups/partner/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"),
         theme="roles"),
    Case("owner-as-a-bare-guid", "aoai-no-privileged-roles", READERS, mutate=_readers_role(OWNER), theme="roles"),
    Case("owner-mixed-case-trailing-slash", "aoai-no-privileged-roles", READERS,
         mutate=_readers_role(f"{SUBSCRIPTION.upper()}/Providers/microsoft.authorization/RoleDefinitions/"
                              f"{OWNER.upper()}/"), theme="roles"),
    # Network placement.
    Case("endpoint-in-another-teams-subnet", "aoai-private-endpoint-placement", ACCOUNT_PE,
         mutate=lambda g: set_both(resource(g, ACCOUNT_PE), "subnet", {"id": FOREIGN_SUBNET}), theme="network"),
    Case("second-endpoint-from-a-partner-network", "aoai-private-endpoint-placement", "partner-pe",
         mutate=_partner_endpoint, theme="network"),
    Case("manual-endpoint-connection", "aoai-private-endpoint-placement", VAULT_PE, mutate=_manual_connection,
         theme="network"),
    Case("any-to-any-inbound-allow", "aoai-endpoint-subnet-nsg", NSG,
         mutate=_rule({"name": "any", "priority": 110, "direction": "Inbound", "access": "Allow", "protocol": "*",
                       "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                       "destinationPortRange": "*"}), theme="network"),
    Case("deny-all-rule-removed", "aoai-endpoint-subnet-nsg", NSG, mutate=_drop_deny_all, theme="network"),
    Case("subnet-without-its-nsg", "aoai-endpoint-subnet-nsg", SUBNET,
         mutate=lambda g: set_both(resource(g, SUBNET), "networkSecurityGroup", ...), theme="network"),
    Case("endpoint-network-policies-off", "aoai-endpoint-subnet-nsg", SUBNET,
         mutate=lambda g: set_both(resource(g, SUBNET), "privateEndpointNetworkPolicies", "Disabled"),
         theme="network"),
    Case("inline-subnet-without-nsg", "aoai-endpoint-subnet-nsg", VNET, mutate=_inline_subnet, theme="network"),
    Case("prod-peered-with-dev", "aoai-no-vnet-peering", VNET,
         mutate=lambda g: set_both(resource(g, VNET), "virtualNetworkPeerings", [
             {"name": "to-dev", "remoteVirtualNetwork": {"id": DEV_VNET}, "allowForwardedTraffic": True}]),
         theme="network"),
    Case("peering-resource-to-a-partner", "aoai-no-vnet-peering", "to-partner",
         mutate=_add_typed("azure-native:network:VirtualNetworkPeering", "to-partner", {
             "virtualNetworkName": "vnet-aoai-prod-swc", "resourceGroupName": "rg-aoai-prod-swc",
             "remoteVirtualNetwork": {"id": FOREIGN_SUBNET.split("/subnets/")[0]}}), theme="network"),
    Case("vnet-rule-on-the-account", "aoai-no-network-rules", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.networkAcls.virtualNetworkRules",
                                   [{"id": FOREIGN_SUBNET}]), theme="network"),
    Case("ip-rule-on-the-vault", "aoai-no-network-rules", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "properties.networkAcls.ipRules",
                                   [{"value": "198.51.100.0/24"}]), theme="network"),
    # Exfiltration.
    Case("outbound-to-anything", "aoai-outbound-fqdn-allow-list", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.allowedFqdnList", ["*"]), theme="exfiltration"),
    Case("outbound-to-every-dot-com", "aoai-outbound-fqdn-allow-list", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.allowedFqdnList", ["*.com"]),
         theme="exfiltration"),
    # Keys.
    Case("key-also-encrypts-and-signs", "aoai-key-operations", KEY,
         mutate=_key("keyOps", ["wrapKey", "unwrapKey", "encrypt", "sign"]), theme="keys"),
    Case("key-without-operations", "aoai-key-operations", KEY, mutate=_key("keyOps", []), theme="keys"),
    Case("exportable-key-with-release-policy", "aoai-key-not-exportable", KEY,
         mutate=lambda g: (_key("attributes.exportable", True)(g), _key("releasePolicy", {
             "contentType": "application/json; charset=utf-8", "data": "eyJ2ZXJzaW9uIjoiMS4wLjAifQ"})(g)),
         theme="keys"),
    Case("disabled-key", "aoai-key-lifetime", KEY, mutate=_key("attributes.enabled", False), theme="keys"),
    Case("rotation-only-a-week-before-a-decade", "aoai-key-lifetime", KEY,
         mutate=_rotation([{"trigger": {"timeBeforeExpiry": "P7D"}, "action": {"type": "rotate"}}], "P10Y"),
         theme="keys"),
    Case("rotation-written-in-hours", "aoai-key-lifetime", KEY,
         mutate=_rotation([{"trigger": {"timeAfterCreate": "PT9000H"}, "action": {"type": "rotate"}}]),
         theme="keys"),
    Case("first-version-valid-for-thirty-years", "aoai-key-lifetime", KEY,
         mutate=_key("attributes.expires", _epoch(30 * 365)), theme="keys"),
    # Log sinks and alerting.
    Case("logs-copied-to-a-storage-account", "aoai-diagnostic-sinks", DIAGNOSTICS,
         mutate=lambda g: set_both(resource(g, DIAGNOSTICS), "storageAccountId",
                                   f"{SUBSCRIPTION}/resourceGroups/x/providers/Microsoft.Storage/storageAccounts/exfil"),
         theme="logs"),
    Case("logs-streamed-to-an-event-hub", "aoai-diagnostic-sinks", DIAGNOSTICS,
         mutate=lambda g: (set_both(resource(g, DIAGNOSTICS), "eventHubAuthorizationRuleId",
                                    f"{SUBSCRIPTION}/resourceGroups/x/providers/Microsoft.EventHub/namespaces/n/"
                                    f"authorizationrules/RootManageSharedAccessKey"),
                           set_both(resource(g, DIAGNOSTICS), "eventHubName", "logs")), theme="logs"),
    Case("logs-sent-to-a-partner-solution", "aoai-diagnostic-sinks", DIAGNOSTICS,
         mutate=lambda g: set_both(resource(g, DIAGNOSTICS), "marketplacePartnerId",
                                   f"{SUBSCRIPTION}/resourceGroups/x/providers/Microsoft.Datadog/monitors/dd"),
         theme="logs"),
    Case("daily-cap-drops-audit-logs", "aoai-workspace-ingestion", WORKSPACE,
         mutate=lambda g: set_both(resource(g, WORKSPACE), "workspaceCapping", {"dailyQuotaGb": 1}), theme="logs"),
    Case("shared-key-ingestion", "aoai-workspace-ingestion", WORKSPACE,
         mutate=lambda g: set_both(resource(g, WORKSPACE), "features.disableLocalAuth", False), theme="logs"),
    Case("action-group-disabled", "aoai-alert-notifies", THROTTLING,
         mutate=lambda g: set_both(resource(g, ACTION_GROUP), "enabled", False), theme="logs"),
    Case("action-group-without-receivers", "aoai-alert-notifies", THROTTLING,
         mutate=lambda g: set_both(resource(g, ACTION_GROUP), "emailReceivers", []), theme="logs"),
    Case("alert-threshold-unreachable", "aoai-alert-thresholds", THROTTLING, mutate=_threshold(10**9),
         theme="logs"),
    # Governance and content.
    Case("ignore-changes-on-network-acls", "aoai-no-security-ignore-changes", ACCOUNT,
         mutate=_ignore(ACCOUNT, "properties.networkAcls"), theme="governance"),
    Case("ignore-changes-on-all-vault-properties", "aoai-no-security-ignore-changes", VAULT,
         mutate=_ignore(VAULT, "properties"), theme="governance"),
    Case("ignore-changes-on-nsg-rules", "aoai-no-security-ignore-changes", NSG,
         mutate=_ignore(NSG, "securityRules"), theme="governance"),
    Case("foreign-identity-on-the-account", "aoai-stack-identities-only", ACCOUNT, mutate=_foreign_identity,
         theme="governance"),
    Case("account-tagged-as-dev", "aoai-environment-tag", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "tags.environment", "dev"), theme="governance"),
    Case("protected-material-annotate-only", "aoai-protected-material-filter", FILTER,
         mutate=_filters(lambda f: f.update(blocking=False) if f["name"].startswith("Protected") else None),
         theme="governance"),
    # Malformed values: refused by name, never an exception, never a default.
    Case("key-operations-as-objects", "aoai-property-shapes", KEY,
         mutate=_key("keyOps", [{"op": "wrapKey"}, {"op": "unwrapKey"}]), theme="shapes"),
    Case("soft-delete-retention-as-a-string", "aoai-property-shapes", VAULT,
         mutate=lambda g: set_both(resource(g, VAULT), "properties.softDeleteRetentionInDays", "7"),
         theme="shapes"),
    Case("capacity-as-a-string", "aoai-property-shapes", CHAT,
         mutate=lambda g: set_both(resource(g, CHAT), "sku.capacity", "100"), theme="shapes"),
    Case("local-auth-flag-as-a-string", "aoai-property-shapes", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.disableLocalAuth", "true"), theme="shapes"),
    Case("fqdn-list-as-an-object", "aoai-property-shapes", ACCOUNT,
         mutate=lambda g: set_both(resource(g, ACCOUNT), "properties.allowedFqdnList", {"host": "x.example.org"}),
         theme="shapes"),
    Case("nsg-priority-as-a-string", "aoai-property-shapes", NSG,
         mutate=lambda g: set_both(resource(g, NSG), "securityRules",
                                   [{**r, "priority": str(r["priority"])}
                                    for r in resource(g, NSG).inputs["securityRules"]]), theme="shapes"),
]

CONFIG_CASES += NEW_CONFIG_CASES
RESOURCE_CASES += NEW_RESOURCE_CASES


def test_the_corpus_is_large_and_names_many_policies() -> None:
    cases = CONFIG_CASES + RESOURCE_CASES
    assert len(cases) >= 100
    assert len({c.id for c in cases}) == len(cases)
    assert len({c.policy for c in cases}) >= 45


def test_every_theme_of_the_red_team_round_has_graph_and_stack_file_variations() -> None:
    assert set(THEMES) <= {c.theme for c in RESOURCE_CASES}
    # A stack file cannot add a resource type or a value of the wrong JSON type: the settings accept neither.
    assert set(THEMES) - {"types", "shapes"} <= {c.theme for c in CONFIG_CASES}


def test_every_rule_added_against_the_adversary_is_exercised() -> None:
    named = {c.policy for c in CONFIG_CASES + RESOURCE_CASES}
    assert set(ADVERSARY_RULES) <= named, sorted(set(ADVERSARY_RULES) - named)


def test_the_cmk_principal_the_stack_file_variations_use_is_the_programs(graphs: dict[str, Graph]) -> None:
    assert resource(graphs["prod"], "aoai-prod-swc-cmk-identity").outputs["principalId"] == CMK_PRINCIPAL_SWC


def test_unchanged_prod_passes_every_policy(graphs: dict[str, Graph], gate) -> None:
    result = gate(graphs["prod"])
    assert result.violations == () and result.exit_code == 0


def _assert_rejected(result, case: Case) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, f"{case.id}: the gate let an insecure variation through"
    named = {(v.policy, v.resource_name) for v in result.mandatory}
    assert case.policy in {policy for policy, _ in named}, f"{case.id}: expected {case.policy}, got {sorted(named)}"
    if case.resource is not None:
        assert (case.policy, case.resource) in named, f"{case.id}: {case.policy} must name {case.resource}"


@pytest.fixture(scope="session")
def focused(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Prod's policy config with only the named rule on: the question each case asks is whether that rule catches
    the variation (test_unchanged_prod_passes_every_policy runs them all over the unchanged stack)."""
    directory = tmp_path_factory.mktemp("focused-config")
    made: dict[str, Path] = {}

    def config(policy: str) -> Path:
        if policy not in made:
            made[policy] = focused_config("prod", policy, directory)
        return made[policy]

    return config


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.id)
def test_gate_rejects_insecure_config(case: Case, gate, focused) -> None:  # type: ignore[no-untyped-def]
    assert case.config is not None
    graph = variant("prod", case.config(stack_values("prod")))
    _assert_rejected(gate(graph, config=focused(case.policy), varies=True), case)


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=lambda c: c.id)
def test_gate_rejects_insecure_resource(case: Case, graphs: dict[str, Graph], gate,  # type: ignore[no-untyped-def]
                                        focused) -> None:
    assert case.mutate is not None
    graph = varied(graphs["prod"])
    case.mutate(graph)
    _assert_rejected(gate(graph, config=focused(case.policy), varies=True), case)
