"""Where an operator changes what a policy found: the stack file's keys, the policy config's properties, or the program.

A violation says what is wrong in Azure's terms (a property path on a resource); the people who fix it edit
`Pulumi.<stack>.yaml` or `policies/config/<stack>.json`. Every message ends with a line naming those keys, so nobody
has to know how the program maps a setting onto a resource. The pack cannot see which files the CLI was given: it
names the files the project's convention gives the stack it runs for (PULUMI_STACK, which the CLI sets when it starts
a pack); the offline host, which knows the files, puts the real names in. tests/policies/test_policy_pack.py holds
every policy to an entry here, every stack key to a setting of settings/parse.py and every property to the
policy's schema.
"""

from __future__ import annotations

import os
from typing import NamedTuple

WHERE = "Fix in "
"""How the line that names the keys starts (after the policy's own sentence, on a line of its own)."""
STACK_FILE = "Pulumi.{stack}.yaml"
POLICY_CONFIG = "policies/config/{stack}.json"


class Remedy(NamedTuple):
    """The stack keys (dotted, `[]` for every item of a list), the policy's own config properties and, where no
    setting changes the behaviour, the program file that does."""

    stack: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    program: tuple[str, ...] = ()


def _r(stack: str = "", config: str = "", program: str = "") -> Remedy:
    return Remedy(tuple(stack.split()), tuple(config.split()), tuple(program.split()))


REMEDIES: dict[str, Remedy] = {
    "aoai-account-public-network-disabled": _r(program="components/openai.py"),
    "aoai-account-network-acls-deny": _r("account.trustedServicesBypass", "allowedBypass"),
    "aoai-account-local-auth-disabled": _r(program="components/openai.py"),
    "aoai-account-managed-identity": _r("keyVault.identity", "allowedIdentityTypes requireUserAssigned"),
    "aoai-account-custom-subdomain": _r("namePrefix nameSuffix", "pattern"),
    "aoai-account-outbound-restricted": _r("account.allowedFqdns"),
    "aoai-outbound-fqdn-allow-list": _r("account.allowedFqdns", "approvedFqdnSuffixes"),
    "aoai-account-kind-sku": _r("account.kind account.sku", "allowedKinds allowedSkus"),
    # The zone lists are where a US Government stack names its .azure.us / usgovcloudapi.net zones.
    "aoai-account-private-endpoint": _r("regions[].existingSubnetId privateDns.existingZoneIds cloud",
                                        "approvedSubnetIds approvedVnetIdPrefixes accountZones aiServicesZones"),
    "aoai-vault-private-endpoint": _r("regions[].existingSubnetId privateDns.existingZoneIds cloud",
                                      "approvedSubnetIds approvedVnetIdPrefixes vaultZones"),
    "aoai-account-cmk": _r("keyVault.customerManagedKey keyVault.identity keyVault.systemAssignedStep",
                           "requireCmk allowSystemAssignedIdentity"),
    "aoai-cmk-key-strength": _r("keyVault.keyType keyVault.keySize keyVault.sku keyVault.rotateAfter",
                                "requireHsm allowedKeySizes maxRotateAfterDays"),
    "aoai-cmk-key-access": _r("keyVault.identity", program="components/keyvault.py"),
    "aoai-key-vault-protection": _r("keyVault.softDeleteRetentionDays keyVault.sku", "minSoftDeleteRetentionDays"),
    "aoai-allowed-regions": _r("regions[].location residency.allowedRegions", "allowedRegions"),
    "aoai-deployment-sku-residency": _r("deployments[].sku residency.mode", "residencyMode allowGlobalSkus"),
    "aoai-diagnostics-same-region": _r("monitoring.existingWorkspaceIds", "externalWorkspaceLocations"),
    "aoai-deployment-model-allowed": _r("deployments[].model deployments[].version", "allowedModels"),
    "aoai-deployment-version-pinned": _r("deployments[].version deployments[].versionUpgradeOption",
                                         "requireNoAutoUpgrade"),
    "aoai-deployment-provisioned-throughput": _r("deployments[].sku deployments[].capacity",
                                                 "provisionedDeployments provisionedModels minCapacity maxCapacity"),
    "aoai-deployment-content-filter": _r("contentFilters deployments[].contentFilter", "maxSeverityThreshold"),
    "aoai-protected-material-filter": _r("contentFilters", "requireProtectedMaterial"),
    "aoai-deployment-not-retired": _r("deployments[].version", "retirements"),
    "aoai-provisioned-spillover": _r("deployments[].spilloverTo", "requireSpillover"),
    "aoai-no-privileged-roles": _r("access[].role", "privilegedRoles"),
    "aoai-no-user-principals": _r("access[].principalType", "disallowUsers"),
    "aoai-known-role-definitions": _r("access[].role", "additionalRoleIds"),
    "aoai-diagnostic-settings": _r("monitoring.accountLogCategories monitoring.existingWorkspaceIds",
                                   "approvedWorkspaceIds"),
    "aoai-diagnostic-sinks": _r("monitoring.existingWorkspaceIds", program="components/shared.py"),
    "aoai-log-retention": _r("monitoring.retentionDays", "minRetentionDays"),
    "aoai-workspace-ingestion": _r("", "allowDailyCap minDailyQuotaGb", "components/monitoring.py"),
    "aoai-throttling-alert": _r("monitoring.alerts monitoring.alertEmails", "requireThrottlingAlert"),
    "aoai-alert-notifies": _r("monitoring.alertEmails", "approvedActionGroupIds"),
    "aoai-alert-thresholds": _r("monitoring.alerts", "thresholdBounds"),
    "aoai-protect-data-resources": _r("protection.protect", "protectedTypes"),
    "aoai-delete-locks": _r("protection.locks", "protectedTypes"),
    "aoai-required-tags": _r("tags", "requiredTags allowedTagValues"),
    "aoai-guardrail-assignments": _r("guardrails.mode guardrails.controls guardrails.allowedLocations",
                                     "requireDeny requiredDefinitions allowedLocations"),
    "aoai-guardrail-exemptions": _r("guardrails.exemptions", "maxExemptionDays"),
    "aoai-activity-log-routed": _r("guardrails.activityLog monitoring.existingWorkspaceIds",
                                   "requireActivityLog approvedWorkspaceIds approvedSinkIds"),
    "aoai-change-alerts": _r("guardrails.changeAlerts monitoring.alertEmails", "requireChangeAlerts"),
    "aoai-key-expiry-alert": _r("guardrails.keyExpiryAlerts", "requireKeyExpiryAlert"),
    "aoai-defender-for-ai": _r("guardrails.defenderForAI", "requireDefenderForAI"),
    "aoai-allowed-resource-types": _r("", "additionalAllowedTypes", "components/"),
    "aoai-property-shapes": _r(program="components/"),
    "aoai-no-security-ignore-changes": _r("", "allowedIgnoreChanges", "components/"),
    "aoai-environment-tag": _r("environment", "environment"),
    "aoai-stack-identities-only": _r("keyVault.identity", "approvedIdentityIds"),
    "aoai-role-assignment-scope": _r("access[].role access[].scope", "allowedRolesByScope allowedOtherScopeGrants"),
    "aoai-key-vault-management-roles": _r("access[].role access[].principalId", "breakGlassPrincipalIds"),
    "aoai-role-separation-of-duties": _r("access[].principalId access[].role"),
    "aoai-cmk-identity-single-grant": _r("access[].principalId", program="components/keyvault.py"),
    "aoai-role-principal-types": _r("access[].principalType", "allowedPrincipalTypes"),
    "aoai-private-endpoint-placement": _r("regions[].existingSubnetId", "approvedSubnetIds"),
    "aoai-endpoint-subnet-nsg": _r("regions[].existingSubnetId", "approvedNsgIds"),
    "aoai-no-network-rules": _r("", "allowedIpRules allowedVirtualNetworkSubnetIds", "components/openai.py"),
    "aoai-no-vnet-peering": _r("", "allowedRemoteVnetIds", "components/network.py"),
    "aoai-key-operations": _r("", "allowedKeyOps", "components/keyvault.py"),
    "aoai-key-not-exportable": _r(program="components/keyvault.py"),
    "aoai-key-lifetime": _r("keyVault.rotateAfter keyVault.keyLifetime keyVault.keyExpiresOn",
                            "maxRotateAfterDays maxExpiryTimeDays maxExpiresInDays"),
}


def stack_name() -> str:
    """The stack the pack runs for (PULUMI_STACK, set by the CLI), or a placeholder outside the CLI."""
    return os.environ.get("PULUMI_STACK") or "<stack>"


def where(policy: str, stack: str | None = None) -> str:
    """The line that says which keys to change, e.g. "Fix in stack file Pulumi.prod.yaml: keyVault.keyType; or,
    after review, in policy config policies/config/prod.json: aoai-cmk-key-strength.allowedKeySizes"."""
    remedy = REMEDIES.get(policy, Remedy())
    stack = stack or stack_name()
    parts = []
    if remedy.stack:
        parts.append(f"stack file {STACK_FILE.format(stack=stack)}: {', '.join(remedy.stack)}")
    if remedy.program:
        parts.append(f"the program: {', '.join(remedy.program)}")
    config = f"policy config {POLICY_CONFIG.format(stack=stack)}: " + ", ".join(
        f"{policy}.{key}" for key in remedy.config or ("exemptResources",))
    if parts:
        return WHERE + "; or ".join(parts) + "; or, after review, in " + config
    return WHERE + config


def config_where(policy: str, key: str, stack: str | None = None) -> str:
    """The line for a problem of the policy config itself: the file and the policy's key."""
    return f"{WHERE}policy config {POLICY_CONFIG.format(stack=stack or stack_name())}: {policy}.{key}"


def split(message: str) -> tuple[str, str]:
    """A message's own sentence and its `Fix in ...` line ('' when it has none)."""
    head, sep, tail = message.rpartition("\n" + WHERE)
    return (head, WHERE + tail) if sep else (message, "")
