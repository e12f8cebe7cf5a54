"""Governance: which resource types a stack may hold, well-formed properties, no ignored security settings, the
environment tag, and only the stack's own identities on its resources.

These rules close the ways around the other policies: a type they do not look at, a value of a shape they cannot
read, a property Pulumi is told to stop updating, a resource labelled as another environment, an identity brought in
from elsewhere.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from .common import (
    Config,
    Stack,
    Violation,
    get,
    json_type,
    keys,
    list_map,
    names,
    norm_id,
    resource_policy,
    show,
    stack_policy,
    string_list,
    subject,
    text,
)
from .metadata import ACCESS_GOVERNANCE, ASSET_INVENTORY, CHANGE_CONTROL, PolicyMeta
from .tokens import (
    ACCOUNT,
    ACTION_GROUP,
    DEPLOYMENT,
    DIAGNOSTIC_SETTING,
    KEY,
    METRIC_ALERT,
    NETWORK_SECURITY_GROUP,
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    PROGRAM_TYPES,
    RAI_POLICY,
    ROLE_ASSIGNMENT,
    SECURITY_RULE,
    SUBNET,
    TAGGABLE_TYPES,
    USER_ASSIGNED_IDENTITY,
    VAULT,
    VIRTUAL_NETWORK,
    VIRTUAL_NETWORK_PEERING,
    WORKSPACE,
    canonical_type,
)

CONCERN = "governance"


# --- aoai-allowed-resource-types ----------------------------------------------------------------------------------

def _allowed_types(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    allowed = {canonical_type(t) for t in (*cfg.strings("allowedTypes"), *cfg.strings("additionalAllowedTypes"))}
    if args.resource_type not in allowed:
        yield (f"Remove {subject(args.resource_type, args.name)} (type {show(args.resource_type)}) or add its type to "
               f"additionalAllowedTypes in this stack's policy config after review: only the types this pack "
               f"judges may be created, so another provider, an ARM template deployment, a generic resource or a "
               f"dynamic provider cannot create what the other policies never see.")


ALLOWED_RESOURCE_TYPES = resource_policy(
    PolicyMeta(
        name="aoai-allowed-resource-types", control="other", concern=CONCERN,
        display_name="Only reviewed resource types", severity=Severity.HIGH, controls=CHANGE_CONTROL,
        remediation="Create resources through the azure-native types the program uses; to add a type, list it in "
                    "additionalAllowedTypes of the stack's policy config and give it the policies it needs. Never "
                    "reach Azure through azure:* (classic), resources:Deployment (ARM templates), resources:Resource "
                    "(generic) or a dynamic provider.",
        azure_policy=("a08ec900…",)),
    "Every resource must be of a reviewed type; versioned azure-native packages count as the default package.",
    None,
    {"allowedTypes": string_list("Type tokens the stack may create (default: every type the program creates). "
                                 "Versioned azure-native spellings are normalized before the comparison.",
                                 PROGRAM_TYPES),
     "additionalAllowedTypes": string_list("Further reviewed type tokens for this stack.", [])},
    _allowed_types)


# --- aoai-property-shapes -----------------------------------------------------------------------------------------

# The JSON type of every input property a policy of this pack reads, per type ('[]' steps into each element of a
# list). Engine numbers are floats; a number written as a string, a list of objects where strings belong or an
# object where a list belongs is reported here by name, and the policy reading it refuses rather than guesses.
_COMMON = {"location": "string", "tags": "map[string]"}
SHAPES: dict[str, dict[str, str]] = {
    ACCOUNT: {
        "kind": "string", "sku": "object", "sku.name": "string", "identity": "object", "identity.type": "string",
        "identity.userAssignedIdentities": "list[string]|map[object]", "properties": "object",
        "properties.publicNetworkAccess": "string", "properties.disableLocalAuth": "boolean",
        "properties.customSubDomainName": "string", "properties.restrictOutboundNetworkAccess": "boolean",
        "properties.allowedFqdnList": "list[string]", "properties.networkAcls": "object",
        "properties.networkAcls.defaultAction": "string", "properties.networkAcls.bypass": "string",
        "properties.networkAcls.ipRules": "list[object]", "properties.networkAcls.ipRules[].value": "string",
        "properties.networkAcls.virtualNetworkRules": "list[object]",
        "properties.networkAcls.virtualNetworkRules[].id": "string",
        "properties.encryption": "object", "properties.encryption.keySource": "string",
        "properties.encryption.keyVaultProperties": "object",
        "properties.encryption.keyVaultProperties.keyVaultUri": "string",
        "properties.encryption.keyVaultProperties.keyName": "string",
        "properties.encryption.keyVaultProperties.keyVersion": "string",
        "properties.encryption.keyVaultProperties.identityClientId": "string",
    },
    DEPLOYMENT: {
        "sku": "object", "sku.name": "string", "sku.capacity": "number", "properties": "object",
        "properties.model": "object", "properties.model.name": "string", "properties.model.version": "string",
        "properties.model.format": "string", "properties.raiPolicyName": "string",
        "properties.versionUpgradeOption": "string",
    },
    RAI_POLICY: {
        "properties": "object", "properties.mode": "string", "properties.contentFilters": "list[object]",
        "properties.contentFilters[].name": "string", "properties.contentFilters[].source": "string",
        "properties.contentFilters[].enabled": "boolean", "properties.contentFilters[].blocking": "boolean",
        "properties.contentFilters[].severityThreshold": "string",
    },
    VAULT: {
        "properties": "object", "properties.sku": "object", "properties.sku.name": "string",
        "properties.enableSoftDelete": "boolean", "properties.enablePurgeProtection": "boolean",
        "properties.enableRbacAuthorization": "boolean", "properties.softDeleteRetentionInDays": "number",
        "properties.publicNetworkAccess": "string", "properties.networkAcls": "object",
        "properties.networkAcls.defaultAction": "string", "properties.networkAcls.bypass": "string",
        "properties.networkAcls.ipRules": "list[object]", "properties.networkAcls.ipRules[].value": "string",
        "properties.networkAcls.virtualNetworkRules": "list[object]",
        "properties.networkAcls.virtualNetworkRules[].id": "string",
    },
    KEY: {
        "properties": "object", "properties.kty": "string", "properties.keySize": "number",
        "properties.keyOps": "list[string]", "properties.attributes": "object",
        "properties.attributes.enabled": "boolean", "properties.attributes.exportable": "boolean",
        "properties.attributes.expires": "number", "properties.attributes.notBefore": "number",
        "properties.rotationPolicy": "object", "properties.rotationPolicy.attributes": "object",
        "properties.rotationPolicy.attributes.expiryTime": "string",
        "properties.rotationPolicy.lifetimeActions": "list[object]",
        "properties.rotationPolicy.lifetimeActions[].action": "object",
        "properties.rotationPolicy.lifetimeActions[].action.type": "string",
        "properties.rotationPolicy.lifetimeActions[].trigger": "object",
        "properties.rotationPolicy.lifetimeActions[].trigger.timeAfterCreate": "string",
        "properties.rotationPolicy.lifetimeActions[].trigger.timeBeforeExpiry": "string",
        "properties.releasePolicy": "object",
    },
    USER_ASSIGNED_IDENTITY: {},
    ROLE_ASSIGNMENT: {
        "scope": "string", "roleDefinitionId": "string", "principalId": "string", "principalType": "string",
        "delegatedManagedIdentityResourceId": "string",
    },
    PRIVATE_ENDPOINT: {
        "subnet": "object", "subnet.id": "string", "privateLinkServiceConnections": "list[object]",
        "privateLinkServiceConnections[].privateLinkServiceId": "string",
        "privateLinkServiceConnections[].groupIds": "list[string]",
        "manualPrivateLinkServiceConnections": "list[object]",
    },
    PRIVATE_DNS_ZONE_GROUP: {
        "privateDnsZoneConfigs": "list[object]", "privateDnsZoneConfigs[].privateDnsZoneId": "string",
    },
    SUBNET: {
        "networkSecurityGroup": "object", "networkSecurityGroup.id": "string",
        "privateEndpointNetworkPolicies": "string",
    },
    VIRTUAL_NETWORK: {
        "subnets": "list[object]", "subnets[].name": "string", "subnets[].networkSecurityGroup": "object",
        "subnets[].networkSecurityGroup.id": "string", "subnets[].privateEndpointNetworkPolicies": "string",
        "virtualNetworkPeerings": "list[object]", "virtualNetworkPeerings[].remoteVirtualNetwork": "object",
        "virtualNetworkPeerings[].remoteVirtualNetwork.id": "string",
    },
    NETWORK_SECURITY_GROUP: {
        "securityRules": "list[object]", "securityRules[].access": "string", "securityRules[].direction": "string",
        "securityRules[].priority": "number", "securityRules[].protocol": "string",
        "securityRules[].sourceAddressPrefix": "string", "securityRules[].sourceAddressPrefixes": "list[string]",
        "securityRules[].destinationAddressPrefix": "string",
        "securityRules[].destinationAddressPrefixes": "list[string]",
        "securityRules[].destinationPortRange": "string", "securityRules[].destinationPortRanges": "list[string]",
    },
    SECURITY_RULE: {
        "access": "string", "direction": "string", "priority": "number", "protocol": "string",
        "sourceAddressPrefix": "string", "sourceAddressPrefixes": "list[string]",
        "destinationAddressPrefix": "string", "destinationPortRange": "string",
    },
    VIRTUAL_NETWORK_PEERING: {"remoteVirtualNetwork": "object", "remoteVirtualNetwork.id": "string"},
    WORKSPACE: {
        "retentionInDays": "number", "features": "object", "features.disableLocalAuth": "boolean",
        "features.immediatePurgeDataOn30Days": "boolean", "workspaceCapping": "object",
        "workspaceCapping.dailyQuotaGb": "number",
    },
    DIAGNOSTIC_SETTING: {
        "resourceUri": "string", "workspaceId": "string", "storageAccountId": "string",
        "eventHubAuthorizationRuleId": "string", "eventHubName": "string", "marketplacePartnerId": "string",
        "logs": "list[object]", "logs[].category": "string", "logs[].categoryGroup": "string",
        "logs[].enabled": "boolean", "metrics": "list[object]", "metrics[].category": "string",
        "metrics[].enabled": "boolean",
    },
    METRIC_ALERT: {
        "enabled": "boolean", "scopes": "list[string]", "actions": "list[object]",
        "actions[].actionGroupId": "string", "criteria": "object", "criteria.allOf": "list[object]",
        "criteria.allOf[].metricName": "string", "criteria.allOf[].threshold": "number",
        "criteria.allOf[].dimensions": "list[object]", "criteria.allOf[].dimensions[].values": "list[string]",
    },
    ACTION_GROUP: {"enabled": "boolean", "emailReceivers": "list[object]"},
}


def _kind_matches(value: Any, kind: str) -> bool:
    """Whether a (known) value has the JSON type `kind`: string, number, boolean, object, list[x] or map[x]."""
    if "|" in kind:
        return any(_kind_matches(value, k) for k in kind.split("|"))
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, Mapping)
    inner = kind[kind.index("[") + 1:-1] if "[" in kind else ""
    if kind.startswith("list["):
        return isinstance(value, Sequence) and not isinstance(value, (str, bytes)) \
            and all(_is_unknown(v) or _kind_matches(v, inner) for v in _elements(value))
    if kind.startswith("map["):
        return isinstance(value, Mapping) and all(_is_unknown(v) or _kind_matches(v, inner)
                                                  for v in _values(value))
    return True


_UNKNOWN_MARK = object()


def _is_unknown(value: Any) -> bool:
    return value is _UNKNOWN_MARK


def _elements(value: Sequence[Any]) -> list[Any]:
    """A list's elements, an unknown element (computed during preview) as a mark that satisfies any type."""
    found = []
    for i in range(len(value)):
        try:
            found.append(value[i])
        except UnknownValueError:  # a value computed during preview
            found.append(_UNKNOWN_MARK)
    return found


def _values(value: Mapping[str, Any]) -> list[Any]:
    found = []
    for key in list(value):
        try:
            found.append(value[key])
        except UnknownValueError:
            found.append(_UNKNOWN_MARK)
    return found


def _walk(value: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any]]:
    """(path as shown, value) for every value at `parts` below `value`; '[]' parts step into each list element."""
    if not parts:
        yield where, value
        return
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        key = head[:-2]
        child = _child(value, key)
        if isinstance(child, Sequence) and not isinstance(child, (str, bytes)):
            for i, element in enumerate(_elements(child)):
                if not _is_unknown(element):
                    yield from _walk(element, rest, f"{where}{'.' if where else ''}{key}[{i}]")
        return
    child = _child(value, head)
    if child is not None and not _is_unknown(child):
        yield from _walk(child, rest, f"{where}{'.' if where else ''}{head}")


def _child(value: Any, key: str) -> Any:
    if not isinstance(value, Mapping):
        return None
    try:
        return value[key]
    except KeyError:
        return None
    except UnknownValueError:
        return _UNKNOWN_MARK


def shape_problems(resource_type: str, props: Any) -> list[tuple[str, Any, str]]:
    """(path, value, expected JSON type) for every property of `props` whose JSON type is not the one the pack
    expects for `resource_type` (unknown values pass: they are judged when known)."""
    table = {**_COMMON, **SHAPES.get(resource_type, {})}
    problems = []
    for path, kind in table.items():
        for where, value in _walk(props, path.split("."), ""):
            if not _kind_matches(value, kind):
                problems.append((where, value, kind))
    return problems


def _shapes(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    for path, value, kind in shape_problems(args.resource_type, args.props):
        expected = kind.replace("|", " or ").replace("[", " of ").replace("]", "s")
        yield (f"Set {path} on {subject(args.resource_type, args.name)} to a {expected} (it is {show(value)}, a "
               f"{json_type(value)}): Azure and this pack read it as that type, and a malformed value is refused "
               f"rather than read as a default.")


PROPERTY_SHAPES = resource_policy(
    PolicyMeta(
        name="aoai-property-shapes", control="other", concern=CONCERN,
        display_name="Security-relevant properties are well-formed", severity=Severity.HIGH,
        controls=CHANGE_CONTROL,
        remediation="Write each property with the JSON type Azure expects: numbers as numbers (not \"7\"), booleans "
                    "as true/false (not \"true\"), lists of strings where the API takes them (keyOps, "
                    "allowedFqdnList), objects where it takes objects."),
    "Every property the pack judges must have the JSON type Azure expects (no numbers as strings, no objects where "
    "lists belong).",
    None, {}, _shapes)


# --- aoai-no-security-ignore-changes ------------------------------------------------------------------------------

# Engine paths (camelCase, any resource type) whose drift must never be ignored: network exposure, authentication,
# encryption, identity, access, logging, alerting, content filtering, residency. A path is refused when it is one of
# these, lies under one, or contains one (ignoring `properties` hides them all).
SENSITIVE_PATHS = (
    "location", "tags", "kind", "sku.name", "identity", "properties.publicNetworkAccess", "properties.networkAcls",
    "properties.disableLocalAuth", "properties.encryption", "properties.restrictOutboundNetworkAccess",
    "properties.allowedFqdnList", "properties.customSubDomainName", "properties.enableSoftDelete",
    "properties.enablePurgeProtection", "properties.enableRbacAuthorization", "properties.softDeleteRetentionInDays",
    "properties.sku", "properties.accessPolicies", "properties.tenantId", "properties.kty", "properties.keySize",
    "properties.keyOps", "properties.attributes", "properties.rotationPolicy", "properties.releasePolicy",
    "properties.model", "properties.raiPolicyName", "properties.versionUpgradeOption", "properties.contentFilters",
    "properties.mode", "properties.basePolicyName", "scope", "roleDefinitionId", "principalId", "principalType",
    "delegatedManagedIdentityResourceId", "condition", "level", "subnet", "privateLinkServiceConnections",
    "manualPrivateLinkServiceConnections", "securityRules", "networkSecurityGroup", "privateEndpointNetworkPolicies",
    "subnets", "virtualNetworkPeerings", "remoteVirtualNetwork", "access", "direction", "sourceAddressPrefix",
    "sourceAddressPrefixes", "retentionInDays", "features", "workspaceCapping", "workspaceId", "storageAccountId",
    "eventHubAuthorizationRuleId", "eventHubName", "marketplacePartnerId", "logs", "metrics", "resourceUri", "enabled",
    "scopes", "criteria", "actions", "emailReceivers", "smsReceivers", "webhookReceivers", "privateDnsZoneConfigs",
)


@functools.lru_cache(maxsize=1024)
def normalize_path(path: str) -> str:
    """An ignoreChanges path compared the way the engine resolves it: `a["b"][0].c` and `a.b[*].c` become `a.b.c`;
    case and snake_case underscores do not matter (only top-level names are translated by the SDK)."""
    text = re.sub(r'\[\s*"([^"]*)"\s*\]', r".\1", path.strip())
    text = re.sub(r"\[[^\]]*\]", "", text)
    return ".".join(p.replace("_", "").lower() for p in text.split(".") if p)


def _overlaps(path: str, sensitive: str) -> bool:
    return path == sensitive or path.startswith(sensitive + ".") or sensitive.startswith(path + ".") or path in (
        "", "*", "**")


def _ignore_changes(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    ignored = [str(p) for p in (args.opts.ignore_changes or [])]
    allowed = {normalize_path(p) for t, ps in cfg.table("allowedIgnoreChanges").items()
               if canonical_type(t) == args.resource_type for p in ps}
    sensitive = [normalize_path(p) for p in cfg.strings("sensitivePaths")]
    refused = []
    for path in ignored:
        normalized = normalize_path(path)
        if normalized in allowed:
            continue
        hit = next((s for s in sensitive if _overlaps(normalized, s)), None)
        if hit is not None:
            refused.append(path)
    if refused:
        yield (f"Remove {names(refused)} from ignoreChanges of {subject(args.resource_type, args.name)}: a "
               f"security-relevant property Pulumi no longer updates can drift (a portal edit, a hand fix) and stay "
               f"that way unseen; fix the drift in code, or list a reviewed exception in allowedIgnoreChanges.")


IGNORE_CHANGES = resource_policy(
    PolicyMeta(
        name="aoai-no-security-ignore-changes", control="other", concern=CONCERN,
        display_name="No ignoreChanges on security-relevant properties", severity=Severity.HIGH,
        controls=CHANGE_CONTROL,
        remediation="Drop ignore_changes entries on network, authentication, encryption, identity, access, logging "
                    "and alerting properties; reconcile drift in code. A VNet's `subnets` may be ignored because "
                    "its subnets are separate Subnet resources this pack judges."),
    "Resources must not ignore changes to security-relevant properties (network, auth, encryption, identity, "
    "access, logging).",
    None,
    {"sensitivePaths": string_list("Engine property paths whose changes must not be ignored (and every path "
                                   "above or below them).", SENSITIVE_PATHS),
     "allowedIgnoreChanges": list_map("Type token -> ignoreChanges paths reviewed as harmless for that type.",
                                      {VIRTUAL_NETWORK: ["subnets"]})},
    _ignore_changes)


# --- aoai-environment-tag -----------------------------------------------------------------------------------------

def expected_environment(cfg: Config) -> str:
    """The environment this stack's resources must be tagged with: the config value, else the stack's name as the
    CLI gives it to the policy pack (PULUMI_STACK); '' when neither is known."""
    return cfg.text("environment").strip() or os.environ.get("PULUMI_STACK", "").strip()


def _environment_tag(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    expected = expected_environment(cfg)
    who = subject(args.resource_type, args.name)
    if not expected:
        yield (f"Set environment in this policy's config (or run under the Pulumi CLI, which names the stack): the "
               f"environment tag of {who} cannot be verified against an unknown environment.")
        return
    tags = get(args.props, "tags")
    value = tags.get("environment") if isinstance(tags, Mapping) else None
    if value != expected:
        yield (f"Set tag 'environment' on {who} to {show(expected)} (it is {show(value)}): a resource of this stack "
               f"labelled as another environment escapes that environment's reviews, alerts and cost reports.")


ENVIRONMENT_TAG = resource_policy(
    PolicyMeta(
        name="aoai-environment-tag", control="other", concern=CONCERN,
        display_name="The environment tag names this stack's environment", severity=Severity.MEDIUM,
        controls=ASSET_INVENTORY,
        remediation="Keep the stack's environment setting equal to the stack (environment: prod in "
                    "Pulumi.prod.yaml); the program tags every resource with it.",
        azure_policy=("1e30110a…",)),
    "Every taggable resource must carry an environment tag equal to the stack's environment.",
    sorted(TAGGABLE_TYPES),
    {"environment": text("The environment every resource's tag must name; empty: the stack's name (PULUMI_STACK, "
                         "set by the Pulumi CLI for the pack).", "")},
    _environment_tag)


# --- aoai-stack-identities-only -----------------------------------------------------------------------------------

def _identities(stack: Stack, cfg: Config) -> Iterator[Violation]:
    own = set(stack.by_id(USER_ASSIGNED_IDENTITY))
    approved = own | {norm_id(i) for i in cfg.strings("approvedIdentityIds")}
    for resource in stack.resources:
        identity = get(resource.props, "identity")
        if not isinstance(identity, Mapping):
            continue
        listed = identity.get("userAssignedIdentities")
        if isinstance(listed, str) or (listed is not None and not isinstance(listed, (Mapping, Sequence))):
            yield Violation(f"Set identity.userAssignedIdentities on {subject(resource.resource_type, resource.name)} "
                            f"to a list (or map) of identity ids (it is {show(listed)}).", resource.urn)
            continue
        foreign = [i for i in keys(listed) if norm_id(i) not in approved]
        if foreign:
            yield Violation(f"Remove {names(foreign)} from identity.userAssignedIdentities of "
                            f"{subject(resource.resource_type, resource.name)}: only user-assigned identities created "
                            f"in this stack (or listed in approvedIdentityIds) may act for it; an identity from "
                            f"elsewhere brings permissions this stack never reviewed.", resource.urn)


STACK_IDENTITIES_ONLY = stack_policy(
    PolicyMeta(
        name="aoai-stack-identities-only", control="identity", concern=CONCERN, kind="stack",
        display_name="Only the stack's own identities are attached", severity=Severity.HIGH,
        controls=ACCESS_GOVERNANCE,
        remediation="Attach only user-assigned identities this stack creates (the CMK identity); list a shared "
                    "identity's id in approvedIdentityIds after review."),
    "Resources (the Azure OpenAI account first) may carry only user-assigned identities created in this stack.",
    {"approvedIdentityIds": string_list("Ids of user-assigned identities outside this stack that may be attached.",
                                        [])},
    _identities)

POLICIES = [ALLOWED_RESOURCE_TYPES, PROPERTY_SHAPES, IGNORE_CHANGES, ENVIRONMENT_TAG, STACK_IDENTITIES_ONLY]
