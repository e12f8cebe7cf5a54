"""A compliant regional environment as stack policies see it under the CLI: provider *outputs*.

The shapes follow azure-native's outputs rather than its inputs where they differ (the offline engine echoes inputs,
and the integration tests cover that shape): a key's kty/keySize/rotationPolicy are top-level, an identity map is
keyed by id, and extension and child resources (diagnostic settings, locks, DNS zone groups, deployments, RAI
policies) carry no link back to their parent except their ARM id.
"""

from __future__ import annotations

from typing import Any

from aoai_policies import tokens as t
from policy_harness import Res

SUB = "11111111-2222-4333-8444-555555555555"
PRINCIPAL = "0a0a0a0a-1111-4222-8333-444444444444"
CLIENT = "0b0b0b0b-1111-4222-8333-444444444444"
CMK_ROLE_ID = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
TAGS = {"owner": "platform@contoso.com", "costCenter": "CC-1", "dataClassification": "confidential",
        "environment": "prod"}


def arm(group: str, path: str) -> str:
    """An ARM id in the test subscription."""
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/{path}"


def zone_id(zone: str) -> str:
    """The id of a private DNS zone in the shared DNS resource group."""
    return arm("rg-dns", f"Microsoft.Network/privateDnsZones/{zone}")


def environment(code: str = "swc", location: str = "swedencentral", kind: str = "OpenAI") -> dict[str, Res]:
    """Every resource of one compliant regional environment, keyed by role ('account', 'vault', 'key', ...)."""
    rg = f"rg-{code}"
    account_name, vault_name = f"aoai-{code}", f"kv-aoai-{code}"
    account_id = arm(rg, f"Microsoft.CognitiveServices/accounts/{account_name}")
    vault_id = arm(rg, f"Microsoft.KeyVault/vaults/{vault_name}")
    key_id = f"{vault_id}/keys/aoai-cmk"
    vault_uri = f"https://{vault_name}.vault.azure.net/"
    identity_id = arm(rg, f"Microsoft.ManagedIdentity/userAssignedIdentities/id-{code}")
    workspace_id = arm(rg, f"Microsoft.OperationalInsights/workspaces/log-{code}")
    subnet_id = arm(rg, f"Microsoft.Network/virtualNetworks/vnet-{code}/subnets/private-endpoints")
    principal, client = PRINCIPAL[:-3] + code, CLIENT[:-3] + code
    n = f"{code}-"  # Pulumi name prefix, so two environments can share one stack

    def pe(target: str, target_id: str, group: str, zones: list[str]) -> list[Res]:
        pe_name = f"pe-{target}"
        pe_id = arm(rg, f"Microsoft.Network/privateEndpoints/{pe_name}")
        endpoint = Res(t.PRIVATE_ENDPOINT, f"{n}{group}-pe", {
            "id": pe_id, "name": pe_name, "location": location, "tags": TAGS, "subnet": {"id": subnet_id},
            "privateLinkServiceConnections": [{"name": pe_name, "privateLinkServiceId": target_id,
                                               "groupIds": [group]}]})
        dns = Res(t.PRIVATE_DNS_ZONE_GROUP, f"{n}{group}-pe-dns", {
            "id": f"{pe_id}/privateDnsZoneGroups/default", "name": "default",
            "privateDnsZoneConfigs": [{"name": z.split(".")[1], "privateDnsZoneId": zone_id(z)} for z in zones]},
            parent=endpoint.name)
        return [endpoint, dns]

    def diag(key: str, target_id: str, logs: list[dict[str, Any]]) -> Res:
        return Res(t.DIAGNOSTIC_SETTING, f"{n}{key}-diagnostics", {
            "id": f"{target_id}/providers/Microsoft.Insights/diagnosticSettings/to-log-analytics",
            "name": "to-log-analytics", "workspaceId": workspace_id, "logs": logs,
            "metrics": [{"category": "AllMetrics", "enabled": True}]})

    def lock(key: str, target_id: str) -> Res:
        return Res(t.LOCK, f"{n}{key}-lock", {
            "id": f"{target_id}/providers/Microsoft.Authorization/locks/do-not-delete", "name": "do-not-delete",
            "level": "CanNotDelete"})

    account_zones = ["privatelink.openai.azure.com", "privatelink.cognitiveservices.azure.com"]
    if kind == "AIServices":
        account_zones.append("privatelink.services.ai.azure.com")
    filters = [{"name": c, "source": s, "enabled": True, "blocking": True, "severityThreshold": "Medium"}
               for c in ("Hate", "Sexual", "Violence", "Selfharm") for s in ("Prompt", "Completion")]
    filters.append({"name": "Jailbreak", "source": "Prompt", "enabled": True, "blocking": True})
    resources = {
        "workspace": Res(t.WORKSPACE, f"{n}workspace", {
            "id": workspace_id, "name": f"log-{code}", "location": location, "retentionInDays": 365.0,
            "tags": TAGS}, protect=True),
        "identity": Res(t.USER_ASSIGNED_IDENTITY, f"{n}identity", {
            "id": identity_id, "name": f"id-{code}", "location": location, "principalId": principal,
            "clientId": client, "tags": TAGS}),
        "vault": Res(t.VAULT, f"{n}vault", {
            "id": vault_id, "name": vault_name, "location": location, "tags": TAGS, "properties": {
                "sku": {"family": "A", "name": "premium"}, "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90.0, "enablePurgeProtection": True, "enableRbacAuthorization": True,
                "publicNetworkAccess": "Disabled", "vaultUri": vault_uri,
                "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}}},
            protect=True),
        "key": Res(t.KEY, f"{n}key", {
            "id": key_id, "name": "aoai-cmk", "kty": "RSA-HSM", "keySize": 2048.0, "keyOps": ["wrapKey", "unwrapKey"],
            "keyUri": f"{vault_uri}keys/aoai-cmk", "keyUriWithVersion": f"{vault_uri}keys/aoai-cmk/0123abcd",
            "attributes": {"enabled": True, "expires": 1861833600.0},
            "rotationPolicy": {"attributes": {"expiryTime": "P1Y"}, "lifetimeActions": [
                {"trigger": {"timeAfterCreate": "P180D"}, "action": {"type": "Rotate"}},
                {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]}, "tags": TAGS},
            protect=True),
        "key_access": Res(t.ROLE_ASSIGNMENT, f"{n}key-access", {
            "id": f"{key_id}/providers/Microsoft.Authorization/roleAssignments/9f0c1c52-0000-4000-8000-000000000001",
            "scope": key_id, "principalId": principal, "principalType": "ServicePrincipal",
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                                f"{CMK_ROLE_ID}"},
            depends=[f"{n}identity", f"{n}key"]),
        "account": Res(t.ACCOUNT, f"{n}account", {
            "id": account_id, "name": account_name, "location": location, "kind": kind, "sku": {"name": "S0"},
            "tags": TAGS,
            "identity": {"type": "UserAssigned",
                         "userAssignedIdentities": {identity_id: {"principalId": principal, "clientId": client}}},
            "properties": {
                "customSubDomainName": account_name, "publicNetworkAccess": "Disabled", "disableLocalAuth": True,
                "networkAcls": {"defaultAction": "Deny", "bypass": "None", "ipRules": []},
                "restrictOutboundNetworkAccess": True, "allowedFqdnList": [],
                "endpoint": f"https://{account_name}.openai.azure.com/",
                "encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
                    "keyVaultUri": vault_uri, "keyName": "aoai-cmk", "keyVersion": "0123abcd",
                    "identityClientId": client}}}},
            protect=True, depends=[f"{n}key-access"]),
        "rai": Res(t.RAI_POLICY, f"{n}filter", {
            "id": f"{account_id}/raiPolicies/default", "name": "default", "tags": TAGS,
            "properties": {"basePolicyName": "Microsoft.DefaultV2", "mode": "Blocking", "contentFilters": filters}},
            depends=[f"{n}account"]),
        "deployment": Res(t.DEPLOYMENT, f"{n}deployment-gpt-4o", {
            "id": f"{account_id}/deployments/gpt-4o", "name": "gpt-4o", "tags": TAGS,
            "sku": {"name": "ProvisionedManaged", "capacity": 100.0},
            "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"},
                           "raiPolicyName": "default", "versionUpgradeOption": "NoAutoUpgrade"}},
            depends=[f"{n}account", f"{n}filter"]),
        "account_diag": diag("account", account_id, [{"category": "Audit", "enabled": True},
                                                     {"category": "RequestResponse", "enabled": True}]),
        "vault_diag": diag("vault", vault_id, [{"categoryGroup": "audit", "enabled": True}]),
        "alert": Res(t.METRIC_ALERT, f"{n}throttling", {
            "id": arm(rg, f"Microsoft.Insights/metricAlerts/alert-{code}-throttling"), "location": "global",
            "enabled": True, "scopes": [account_id], "tags": TAGS,
            "actions": [{"actionGroupId": arm(rg, f"Microsoft.Insights/actionGroups/ag-{code}")}],
            "criteria": {"odataType": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria", "allOf": [
                {"name": "throttling", "metricName": "AzureOpenAIRequests", "operator": "GreaterThan",
                 "threshold": 10.0, "timeAggregation": "Total", "criterionType": "StaticThresholdCriterion",
                 "dimensions": [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]}]}}),
        "account_lock": lock("account", account_id),
        "vault_lock": lock("vault", vault_id),
        "key_lock": lock("key", key_id),
        "workspace_lock": lock("workspace", workspace_id),
    }
    nsg_id = arm(rg, f"Microsoft.Network/networkSecurityGroups/nsg-{code}")
    resources.update(
        nsg=Res(t.NETWORK_SECURITY_GROUP, f"{n}nsg", {
            "id": nsg_id, "name": f"nsg-{code}", "location": location, "tags": TAGS, "securityRules": [
                {"name": "allow-https-from-vnet", "priority": 100.0, "direction": "Inbound", "access": "Allow",
                 "protocol": "Tcp", "sourceAddressPrefix": "VirtualNetwork", "sourcePortRange": "*",
                 "destinationAddressPrefix": "VirtualNetwork", "destinationPortRange": "443"},
                {"name": "deny-all-other-inbound", "priority": 4096.0, "direction": "Inbound", "access": "Deny",
                 "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                 "destinationAddressPrefix": "*", "destinationPortRange": "*"}]}),
        vnet=Res(t.VIRTUAL_NETWORK, f"{n}vnet", {
            "id": subnet_id.rsplit("/subnets/", 1)[0], "name": f"vnet-{code}", "location": location, "tags": TAGS,
            "addressSpace": {"addressPrefixes": ["10.40.0.0/16"]}}),
        subnet=Res(t.SUBNET, f"{n}pe-subnet", {
            "id": subnet_id, "name": "private-endpoints", "addressPrefix": "10.40.1.0/24",
            "networkSecurityGroup": {"id": nsg_id}, "privateEndpointNetworkPolicies": "Enabled"}),
        action_group=Res(t.ACTION_GROUP, f"{n}action-group", {
            "id": arm(rg, f"Microsoft.Insights/actionGroups/ag-{code}"), "name": f"ag-{code}", "location": "global",
            "tags": TAGS, "enabled": True, "groupShortName": f"ag{code}",
            "emailReceivers": [{"name": "email-0", "emailAddress": "oncall@contoso.com"}]}),
    )
    account_pe, account_dns = pe(account_name, account_id, "account", account_zones)
    vault_pe, vault_dns = pe(vault_name, vault_id, "vault", ["privatelink.vaultcore.azure.net"])
    resources.update(account_pe=account_pe, account_dns=account_dns, vault_pe=vault_pe, vault_dns=vault_dns)
    return resources


def stack(*environments: dict[str, Res]) -> list[Res]:
    """The resources of one or more environments as one stack."""
    return [r for env in environments for r in env.values()]
