"""The program under the mock engine: exact Azure properties, ordering, names, protection, tags and outputs."""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from typing import Any

import pytest

from offline.engine import Graph, Resource, run_program
from settings.catalog import ROLE_IDS
from tests.support import stack_values

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI = "azure-native:cognitiveservices:RaiPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
PE = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
ALERT = "azure-native:monitor:MetricAlert"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HUB = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub/providers/"


def one(graph: Graph, type_: str, name_contains: str = "") -> Resource:
    found = [r for r in graph.by_type(type_) if name_contains in r.name]
    assert len(found) == 1, (type_, name_contains, [r.name for r in found])
    return found[0]


# --- account -------------------------------------------------------------------------------------------------------

def test_account_is_private_entra_only_and_encrypted_with_the_key(prod_graph: Graph) -> None:
    account = one(prod_graph, ACCOUNT, "swc")
    vault = one(prod_graph, VAULT, "swc")
    key = one(prod_graph, KEY, "swc")
    identity = one(prod_graph, IDENTITY, "swc")
    assert account.inputs["kind"] == "OpenAI"
    assert account.inputs["sku"] == {"name": "S0"}
    assert account.inputs["location"] == "swedencentral"
    props = account.inputs["properties"]
    assert props["customSubDomainName"] == "aoai-prod-swc"
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "None", "ipRules": [],
                                    "virtualNetworkRules": []}
    assert props["disableLocalAuth"] is True
    assert props["restrictOutboundNetworkAccess"] is True and props["allowedFqdnList"] == []
    assert "restore" not in props
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert props["encryption"] == {
        "keySource": "Microsoft.KeyVault",
        "keyVaultProperties": {
            "keyVaultUri": vault.outputs["properties"]["vaultUri"],
            "keyName": "aoai-cmk",
            "keyVersion": key.outputs["keyUriWithVersion"].rsplit("/", 1)[1],
            "identityClientId": identity.outputs["clientId"],
        },
    }


def test_the_account_waits_for_the_key_grant_to_propagate_once(prod_graph: Graph) -> None:
    """Azure checks the identity's key access when the account is written; a new role assignment can take minutes
    to propagate. The wait (the time provider's Sleep) runs when the assignment is created or replaced."""
    account = one(prod_graph, ACCOUNT, "swc")
    grant = prod_graph.named("aoai-prod-swc-cmk-key-access")
    wait = prod_graph.named("aoai-prod-swc-cmk-rbac-propagation")
    assert wait.type == "time:index/sleep:Sleep" and wait.inputs["createDuration"] == "2m"
    assert wait.inputs["triggers"] == {"roleAssignmentId": grant.id}
    assert grant.urn in wait.dependencies and wait.urn in account.dependencies
    no_wait = run_program("prod", config_overrides={"keyVault": {**stack_values("prod")["keyVault"],
                                                                 "rbacPropagationDelay": "0s"}})
    assert no_wait.by_type("time:index/sleep:Sleep") == []
    assert no_wait.named("aoai-prod-swc-cmk-key-access").urn in one(no_wait, ACCOUNT, "swc").dependencies


def test_account_waits_for_the_identitys_access_to_the_key(prod_graph: Graph) -> None:
    for code in ("swc", "frc"):
        account = one(prod_graph, ACCOUNT, code)
        access = one(prod_graph, ROLE, f"{code}-cmk-key-access")
        assert access.urn in account.dependencies


def test_restore_and_trusted_services_settings_reach_the_account() -> None:
    raw = stack_values("dev")
    graph = run_program("dev", config_overrides={"account": dict(raw["account"], restore=True,
                                                                 trustedServicesBypass=True)})
    props = one(graph, ACCOUNT).inputs["properties"]
    assert props["restore"] is True
    assert props["networkAcls"]["bypass"] == "AzureServices"


def test_without_customer_managed_key_the_account_uses_its_own_identity() -> None:
    raw = stack_values("dev")
    graph = run_program("dev", config_overrides={"keyVault": dict(raw["keyVault"], customerManagedKey=False)})
    account = one(graph, ACCOUNT)
    assert "encryption" not in account.inputs["properties"]
    assert account.inputs["identity"] == {"type": "SystemAssigned"}


# --- deployments and content filters -------------------------------------------------------------------------------

def test_deployments_are_created_one_at_a_time(dev_graph: Graph) -> None:
    order = [d.get("name", d["model"]) for d in stack_values("dev")["deployments"]]
    deployments = sorted(dev_graph.by_type(DEPLOYMENT), key=lambda d: order.index(d.inputs["deploymentName"]))
    assert len(deployments) == 6
    for previous, current in itertools.pairwise(deployments):
        assert previous.urn in current.dependencies, f"{current.name} must wait for {previous.name}"
    assert not any(d.urn in deployments[0].dependencies for d in deployments[1:])


def test_each_deployment_pins_model_version_sku_and_filter(prod_graph: Graph) -> None:
    chat = one(prod_graph, DEPLOYMENT, "swc-openai-deployment-chat-paygo")
    policy = one(prod_graph, RAI, "swc")
    assert chat.inputs["deploymentName"] == "chat-paygo"
    assert chat.inputs["accountName"] == "aoai-prod-swc"
    assert chat.inputs["sku"] == {"name": "DataZoneStandard", "capacity": 100}
    assert chat.inputs["properties"] == {
        "model": {"format": "OpenAI", "name": "gpt-5.1", "version": "2025-11-13"},
        "raiPolicyName": "default",
        "versionUpgradeOption": "NoAutoUpgrade",
    }
    assert policy.urn in chat.dependencies
    skus = {d.inputs["deploymentName"]: d.inputs["sku"]["name"] for d in prod_graph.by_type(DEPLOYMENT)
            if "swc" in d.name}
    assert skus == {"chat": "DataZoneProvisionedManaged", "chat-paygo": "DataZoneStandard",
                    "gpt-4.1": "DataZoneStandard", "text-embedding-3-large": "Standard",
                    "text-embedding-3-small": "DataZoneStandard"}


def test_a_provisioned_deployment_spills_over_to_its_pay_per_token_twin_created_before_it(prod_graph: Graph) -> None:
    for region in ("swc", "frc"):
        provisioned = prod_graph.named(f"aoai-prod-{region}-openai-deployment-chat")
        spillover = one(prod_graph, DEPLOYMENT, f"{region}-openai-deployment-chat-paygo")
        assert provisioned.inputs["sku"] == {"name": "DataZoneProvisionedManaged", "capacity": 50}
        assert provisioned.inputs["properties"]["spilloverDeploymentName"] == "chat-paygo"
        # Azure checks the name when the provisioned deployment is written: the target must exist by then.
        assert spillover.urn in provisioned.dependencies
        assert "spilloverDeploymentName" not in spillover.inputs["properties"]


def test_content_filter_blocks_every_harm_both_ways_and_jailbreaks(prod_graph: Graph) -> None:
    policy = one(prod_graph, RAI, "swc")
    props = policy.inputs["properties"]
    assert props["basePolicyName"] == "Microsoft.DefaultV2" and props["mode"] == "Default"
    filters = {(f["name"], f["source"]): f for f in props["contentFilters"]}
    for name in ("Hate", "Sexual", "Violence", "Selfharm"):
        for source in ("Prompt", "Completion"):
            assert filters[(name, source)] == {"name": name, "source": source, "enabled": True, "blocking": True,
                                               "severityThreshold": "Medium"}
    assert filters[("Jailbreak", "Prompt")]["enabled"] is True
    assert filters[("Protected Material Code", "Completion")]["blocking"] is True


def test_private_endpoint_of_the_account_waits_for_every_deployment(prod_graph: Graph) -> None:
    endpoint = one(prod_graph, PE, "swc-openai-pe")
    for deployment in (d for d in prod_graph.by_type(DEPLOYMENT) if "swc" in d.name):
        assert deployment.urn in endpoint.dependencies


# --- private endpoints and DNS ---------------------------------------------------------------------------------------

def test_private_endpoints_name_group_ids_and_dns_zones(prod_graph: Graph) -> None:
    zones = {z.inputs["privateZoneName"]: z for z in prod_graph.by_type(ZONE)}
    assert set(zones) == {"privatelink.openai.azure.com", "privatelink.cognitiveservices.azure.com",
                          "privatelink.vaultcore.azure.net"}
    assert all(z.inputs["location"] == "global" for z in zones.values())
    account, vault = one(prod_graph, ACCOUNT, "swc"), one(prod_graph, VAULT, "swc")
    subnet = one(prod_graph, "azure-native:network:Subnet", "swc")
    for endpoint_name, target, group, zone_names in (
        ("swc-openai-pe", account, "account", {"privatelink.openai.azure.com",
                                              "privatelink.cognitiveservices.azure.com"}),
        ("swc-cmk-pe", vault, "vault", {"privatelink.vaultcore.azure.net"}),
    ):
        endpoint = one(prod_graph, PE, endpoint_name)
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        assert connection["privateLinkServiceId"] == target.id
        assert connection["groupIds"] == [group]
        assert endpoint.inputs["subnet"] == {"id": subnet.id}
        zone_group = next(g for g in prod_graph.by_type(ZONE_GROUP) if g.parent == endpoint.urn)
        named = {c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]}
        assert named == {zones[z].id for z in zone_names}


def test_zones_are_shared_and_linked_to_every_regions_vnet(prod_graph: Graph) -> None:
    vnets = {v.id for v in prod_graph.by_type("azure-native:network:VirtualNetwork")}
    links = prod_graph.by_type(LINK)
    assert len(prod_graph.by_type(ZONE)) == 3 and len(links) == 6
    assert {link.inputs["virtualNetwork"]["id"] for link in links} == vnets
    assert all(link.inputs["registrationEnabled"] is False for link in links)


def test_subnet_applies_its_nsg_to_private_endpoints(prod_graph: Graph) -> None:
    subnet = one(prod_graph, "azure-native:network:Subnet", "swc")
    nsg = one(prod_graph, "azure-native:network:NetworkSecurityGroup", "swc")
    assert subnet.inputs["addressPrefix"] == "10.40.1.0/24"
    assert subnet.inputs["privateEndpointNetworkPolicies"] == "Enabled"
    assert subnet.inputs["networkSecurityGroup"] == {"id": nsg.id}
    rules = {r["name"]: r for r in nsg.inputs["securityRules"]}
    assert rules["deny-all-other-inbound"]["access"] == "Deny"
    assert rules["allow-https-from-vnet"]["destinationPortRange"] == "443"


def test_hub_and_spoke_uses_existing_subnet_and_zones_and_creates_none() -> None:
    zone_ids = {key: f"{HUB}Microsoft.Network/privateDnsZones/{zone}" for key, zone in (
        ("openai", "privatelink.openai.azure.com"), ("cognitiveservices", "privatelink.cognitiveservices.azure.com"),
        ("vault", "privatelink.vaultcore.azure.net"))}
    subnet_id = f"{HUB}Microsoft.Network/virtualNetworks/vnet-spoke/subnets/private-endpoints"
    graph = run_program("dev", config_overrides={
        "regions": [{"location": "swedencentral", "existingSubnetId": subnet_id}],
        "privateDns": {"existingZoneIds": zone_ids}})
    created = {r.type for r in graph.resources}
    assert not created & {ZONE, LINK, "azure-native:network:VirtualNetwork", "azure-native:network:Subnet",
                          "azure-native:network:NetworkSecurityGroup"}
    for endpoint in graph.by_type(PE):
        assert endpoint.inputs["subnet"] == {"id": subnet_id}
    configs = [c["privateDnsZoneId"] for g in graph.by_type(ZONE_GROUP) for c in g.inputs["privateDnsZoneConfigs"]]
    assert set(configs) == set(zone_ids.values())


def test_us_government_cloud_uses_its_zone_names() -> None:
    graph = run_program("dev", config_overrides={
        "cloud": "usgovernment", "residency": {"mode": "dataZone", "dataZone": "USGov"},
        "regions": [{"location": "usgovvirginia", "vnetAddressSpace": "10.30.0.0/16",
                     "privateEndpointSubnet": "10.30.1.0/24"}],
        # What Azure Government offers in usgovvirginia (settings/data/models/usgovvirginia.json).
        "deployments": [{"model": "gpt-4.1", "version": "2025-04-14", "sku": "DataZoneStandard", "capacity": 10},
                        {"model": "text-embedding-3-large", "version": "1", "sku": "DataZoneStandard",
                         "capacity": 10}]})
    assert {z.inputs["privateZoneName"] for z in graph.by_type(ZONE)} == {
        "privatelink.openai.azure.us", "privatelink.cognitiveservices.azure.us",
        "privatelink.vaultcore.usgovcloudapi.net"}


# --- key vault and customer-managed key ---------------------------------------------------------------------------

def test_vault_is_rbac_purge_protected_and_private(prod_graph: Graph) -> None:
    vault = one(prod_graph, VAULT, "swc")
    assert vault.inputs["vaultName"] == "kv-aoai-prod-swc"
    props = vault.inputs["properties"]
    assert props["sku"] == {"family": "A", "name": "premium"}
    assert props["tenantId"] == "00000000-0000-4000-8000-00000000c1d2"
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True and props["softDeleteRetentionInDays"] == 90
    assert props["enablePurgeProtection"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [],
                                    "virtualNetworkRules": []}


def test_key_is_rsa_2048_with_rotation_and_expiry(prod_graph: Graph, dev_graph: Graph) -> None:
    key = one(prod_graph, KEY, "swc").inputs
    assert key["keyName"] == "aoai-cmk" and key["vaultName"] == "kv-aoai-prod-swc"
    props = key["properties"]
    assert props["kty"] == "RSA-HSM" and props["keySize"] == 2048
    assert props["keyOps"] == ["wrapKey", "unwrapKey"]
    # 2028-12-31T00:00:00Z; the SDK sends exportable: false, so the key never leaves the vault.
    assert props["attributes"] == {"enabled": True, "expires": 1861833600, "exportable": False}
    assert props["rotationPolicy"] == {
        "attributes": {"expiryTime": "P1Y"},
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P180D"}, "action": {"type": "rotate"}},
                            {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}}],
    }
    assert one(dev_graph, KEY).inputs["properties"]["kty"] == "RSA"


def test_identity_holds_the_encryption_role_on_the_key_only(prod_graph: Graph) -> None:
    access = one(prod_graph, ROLE, "swc-cmk-key-access").inputs
    key = one(prod_graph, KEY, "swc")
    identity = one(prod_graph, IDENTITY, "swc")
    assert access["scope"] == key.id
    assert access["principalId"] == identity.outputs["principalId"]
    assert access["principalType"] == "ServicePrincipal"
    assert access["roleDefinitionId"].endswith("/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6")
    assert access["roleDefinitionId"].startswith("/subscriptions/")


# --- access --------------------------------------------------------------------------------------------------------

def test_role_assignments_resolve_names_scopes_and_stable_guid_names(prod_graph: Graph) -> None:
    assignments = [r for r in prod_graph.by_type(ROLE) if "-access-" in r.name and "swc" in r.name]
    assert len(assignments) == 4
    account, workspace = one(prod_graph, ACCOUNT, "swc"), one(prod_graph, WORKSPACE, "swc")
    by_role = {(a.inputs["principalId"], a.inputs["roleDefinitionId"].rsplit("/", 1)[1]): a.inputs
               for a in assignments}
    reader = by_role[("2e4d6c8b-0a1f-4e3d-9b5c-7a6f8e9d0c05", ROLE_IDS["Log Analytics Reader"])]
    assert reader["scope"] == workspace.id and reader["principalType"] == "Group"
    user = by_role[("7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03", ROLE_IDS["Cognitive Services OpenAI User"])]
    assert user["scope"] == account.id
    assert all(GUID.match(a["roleAssignmentName"]) for a in by_role.values())
    names = {a.inputs["roleAssignmentName"] for a in prod_graph.by_type(ROLE)}
    assert len(names) == len(prod_graph.by_type(ROLE)), "every assignment needs its own GUID"


def test_names_are_deterministic_across_runs(prod_graph: Graph) -> None:
    again = run_program("prod")
    # Registration order varies with asyncio scheduling; what Azure receives must not.
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in prod_graph.resources}


# --- monitoring ----------------------------------------------------------------------------------------------------

def test_diagnostics_send_required_categories_to_the_regions_workspace(prod_graph: Graph) -> None:
    for code in ("swc", "frc"):
        workspace = one(prod_graph, WORKSPACE, code)
        account_diag = one(prod_graph, DIAGNOSTIC, f"{code}-openai-diagnostics").inputs
        vault_diag = one(prod_graph, DIAGNOSTIC, f"{code}-cmk-diagnostics").inputs
        assert account_diag["resourceUri"] == one(prod_graph, ACCOUNT, code).id
        assert vault_diag["resourceUri"] == one(prod_graph, VAULT, code).id
        assert account_diag["workspaceId"] == vault_diag["workspaceId"] == workspace.id
        assert [log["category"] for log in account_diag["logs"]] == [
            "Audit", "RequestResponse", "AzureOpenAIRequestUsage", "Trace"]
        assert vault_diag["logs"] == [{"categoryGroup": "audit", "enabled": True}]
        assert account_diag["metrics"] == vault_diag["metrics"] == [{"category": "AllMetrics", "enabled": True}]


def test_workspace_retention_and_entra_only_access(prod_graph: Graph, dev_graph: Graph) -> None:
    workspace = one(prod_graph, WORKSPACE, "swc").inputs
    assert workspace["retentionInDays"] == 365 and workspace["sku"] == {"name": "PerGB2018"}
    assert workspace["features"]["disableLocalAuth"] is True
    assert one(dev_graph, WORKSPACE).inputs["retentionInDays"] == 30


def test_existing_workspace_is_used_and_none_is_created() -> None:
    workspace_id = f"{HUB}Microsoft.OperationalInsights/workspaces/log-central-swc"
    raw = stack_values("dev")
    graph = run_program("dev", config_overrides={
        "monitoring": dict(raw["monitoring"], existingWorkspaceIds={"swedencentral": workspace_id})})
    assert graph.by_type(WORKSPACE) == []
    assert {d.inputs["workspaceId"] for d in graph.by_type(DIAGNOSTIC)} == {workspace_id}


def test_alerts_watch_throttling_server_errors_latency_and_provisioned_utilization(prod_graph: Graph,
                                                                                   dev_graph: Graph) -> None:
    alerts = {a.inputs["ruleName"]: a.inputs for a in prod_graph.by_type(ALERT) if "swc" in a.name}
    assert set(alerts) == {"alert-aoai-prod-swc-throttling", "alert-aoai-prod-swc-server-errors",
                           "alert-aoai-prod-swc-latency", "alert-aoai-prod-swc-ptu-utilization"}
    throttling = alerts["alert-aoai-prod-swc-throttling"]
    assert throttling["scopes"] == [one(prod_graph, ACCOUNT, "swc").id]
    (criterion,) = throttling["criteria"]["allOf"]
    assert throttling["criteria"]["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
    assert criterion["metricName"] == "AzureOpenAIRequests" and criterion["threshold"] == 10
    assert criterion["dimensions"] == [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]
    # Microsoft marks ServerErrors "Do not use for Azure OpenAI service": 5xx answers of AzureOpenAIRequests instead.
    (errors,) = alerts["alert-aoai-prod-swc-server-errors"]["criteria"]["allOf"]
    assert (errors["metricName"], errors["timeAggregation"], errors["threshold"]) == ("AzureOpenAIRequests", "Total", 5)
    assert errors["dimensions"] == [{"name": "StatusCode", "operator": "Include",
                                     "values": ["500", "502", "503", "504"]}]
    (latency,) = alerts["alert-aoai-prod-swc-latency"]["criteria"]["allOf"]
    assert (latency["metricName"], latency["timeAggregation"]) == ("AzureOpenAITimeToResponse", "Average")
    (ptu,) = alerts["alert-aoai-prod-swc-ptu-utilization"]["criteria"]["allOf"]
    assert (ptu["metricName"], ptu["timeAggregation"], ptu["threshold"]) == (
        "AzureOpenAIProvisionedManagedUtilizationV2", "Average", 80)
    assert ptu["dimensions"] == [{"name": "ModelDeploymentName", "operator": "Include", "values": ["chat"]}]
    group = one(prod_graph, "azure-native:monitor:ActionGroup", "swc")
    assert all(a["actions"] == [{"actionGroupId": group.id}] for a in alerts.values())
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == [
        "platform-oncall@contoso.com", "security-operations@contoso.com"]
    assert dev_graph.by_type(ALERT) == []


# --- protection, tags, residency, outputs ---------------------------------------------------------------------------

DATA_TYPES = (ACCOUNT, VAULT, KEY, WORKSPACE)


def test_prod_protects_and_locks_everything_that_holds_data(prod_graph: Graph) -> None:
    locks = {lock.inputs["scope"]: lock.inputs for lock in prod_graph.by_type(LOCK)}
    for type_ in DATA_TYPES:
        resources = prod_graph.by_type(type_)
        assert len(resources) == 2
        for resource in resources:
            assert resource.protect, f"{resource.name} must be protected"
            assert locks[resource.id]["level"] == "CanNotDelete", f"{resource.name} needs a CanNotDelete lock"


def test_dev_has_neither_protect_nor_locks(dev_graph: Graph) -> None:
    assert dev_graph.by_type(LOCK) == []
    assert not any(r.protect for r in dev_graph.resources)


def _taggable(type_: str) -> bool:
    package, module, cls = type_.split(":")
    if package != "azure-native":
        return False  # the time provider's Sleep is not an Azure resource
    klass = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls)
    return "tags" in inspect.signature(klass._internal_init).parameters


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_resource_carries_the_required_tags(stack: str, dev_graph: Graph, prod_graph: Graph) -> None:
    graph = dev_graph if stack == "dev" else prod_graph
    custom = [r for r in graph.resources if r.custom]
    taggable = [r for r in custom if _taggable(r.type)]
    # The detection must find the resources that hold data and reach them (a ratio of all resources no longer says
    # that: policy assignments, one per control and region, take no tags).
    assert {ACCOUNT, VAULT, KEY, WORKSPACE, IDENTITY, PE, DEPLOYMENT, RAI} <= {r.type for r in taggable}
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        for key in ("owner", "costCenter", "dataClassification", "environment"):
            assert tags.get(key), f"{resource.name} ({resource.type}) lacks tag {key}"
        assert tags["environment"] == stack


def test_every_located_resource_stays_in_its_region(prod_graph: Graph) -> None:
    for resource in prod_graph.resources:
        location = resource.inputs.get("location")
        if location is None or location == "global":
            continue
        assert location in {"swedencentral", "francecentral"}
        code = "frc" if location == "francecentral" else "swc"
        if resource.type != "azure-native:resources:ResourceGroup" or "dns" not in resource.name:
            assert f"-{code}" in resource.name, f"{resource.name} is in {location}"


def test_every_input_is_in_engine_camel_case(prod_graph: Graph) -> None:
    """A snake_case key means a dict the SDK did not translate: Azure would ignore or reject it."""
    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                # Map keys are data, not property names: tag keys, and a policy definition's parameter names
                # (Key Vault's private-link built-in really names its effect parameter `audit_effect`).
                assert path.endswith((".tags", ".parameters")) or "_" not in key, f"untranslated key {path}.{key}"
                walk(inner, f"{path}.{key}")
        elif isinstance(value, list):
            for inner in value:
                walk(inner, path)
    for resource in prod_graph.resources:
        walk(resource.inputs, resource.name)


def test_outputs_describe_each_region(prod_graph: Graph) -> None:
    outputs = prod_graph.outputs
    assert outputs["environment"] == "prod"
    assert set(outputs["regions"]) == {"swedencentral", "francecentral"}
    swc = outputs["regions"]["swedencentral"]
    assert swc["endpoint"] == "https://aoai-prod-swc.openai.azure.com/"
    assert swc["accountName"] == "aoai-prod-swc"
    assert swc["accountId"] == one(prod_graph, ACCOUNT, "swc").id
    assert swc["keyVaultUri"] == "https://kv-aoai-prod-swc.vault.azure.net/"
    assert swc["keyId"] == one(prod_graph, KEY, "swc").id
    assert swc["workspaceId"] == one(prod_graph, WORKSPACE, "swc").id
    assert {"principalId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c04", "principalType": "ServicePrincipal",
            "role": "Cognitive Services OpenAI User", "scope": "account"} in swc["access"]
    assert swc["deployments"]["chat"] == {"model": "gpt-5.1", "version": "2025-11-13",
                                          "sku": "DataZoneProvisionedManaged", "capacity": 50,
                                          "spilloverTo": "chat-paygo"}


def test_regions_are_independent_environments(prod_graph: Graph) -> None:
    """Each region has its own vault, key, identity, account and workspace, so data never crosses regions."""
    for type_ in (VAULT, KEY, IDENTITY, ACCOUNT, WORKSPACE, "azure-native:network:VirtualNetwork"):
        assert len(prod_graph.by_type(type_)) == 2, type_
    french = one(prod_graph, ACCOUNT, "frc")
    assert french.inputs["properties"]["encryption"]["keyVaultProperties"]["keyVaultUri"] == (
        "https://kv-aoai-prod-frc.vault.azure.net/")


def test_ai_services_account_also_registers_in_the_ai_services_zone() -> None:
    raw = stack_values("dev")
    graph = run_program("dev", config_overrides={"account": dict(raw["account"], kind="AIServices")})
    zones = {z.inputs["privateZoneName"]: z.id for z in graph.by_type(ZONE)}
    assert "privatelink.services.ai.azure.com" in zones and len(zones) == 4
    endpoint = one(graph, PE, "openai-pe")
    zone_group = next(g for g in graph.by_type(ZONE_GROUP) if g.parent == endpoint.urn)
    assert {c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]} == {
        zones["privatelink.openai.azure.com"], zones["privatelink.cognitiveservices.azure.com"],
        zones["privatelink.services.ai.azure.com"]}
    assert one(graph, ACCOUNT).inputs["kind"] == "AIServices"


def test_role_definitions_come_from_the_deploying_subscription(prod_graph: Graph) -> None:
    """Known at a first preview (unlike the scope's id), so the policy pack can judge the role before `up`."""
    for assignment in prod_graph.by_type(ROLE):
        assert assignment.inputs["roleDefinitionId"].startswith(
            "/subscriptions/00000000-0000-4000-8000-00000000a0a1/providers/Microsoft.Authorization/roleDefinitions/")


def _system_assigned(step: int) -> Graph:
    raw = stack_values("dev")
    return run_program("dev", config_overrides={
        "keyVault": dict(raw["keyVault"], identity="systemAssigned", systemAssignedStep=step)})


def test_system_assigned_step_one_grants_the_accounts_identity_and_does_not_encrypt_yet() -> None:
    graph = _system_assigned(1)
    account = one(graph, ACCOUNT)
    grant = one(graph, ROLE, "account-key-access")
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert "encryption" not in account.inputs["properties"]
    assert graph.by_type(IDENTITY) == []
    assert grant.inputs["principalId"] == account.outputs["identity"]["principalId"]
    assert grant.inputs["scope"] == one(graph, KEY).id
    assert grant.inputs["roleDefinitionId"].endswith(ROLE_IDS["Key Vault Crypto Service Encryption User"])
    assert account.urn in grant.dependencies and grant.urn not in account.dependencies


def test_system_assigned_step_two_encrypts_without_an_identity_client_id() -> None:
    graph = _system_assigned(2)
    account = one(graph, ACCOUNT)
    key = one(graph, KEY)
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    assert account.inputs["properties"]["encryption"] == {
        "keySource": "Microsoft.KeyVault",
        "keyVaultProperties": {"keyVaultUri": "https://kv-aoai-dev-swc.vault.azure.net/", "keyName": "aoai-cmk",
                               "keyVersion": key.outputs["keyUriWithVersion"].rsplit("/", 1)[1]}}
    # The grant keeps its name across both steps, so step 2 changes nothing but the account's encryption.
    assert one(graph, ROLE, "account-key-access").urn == one(_system_assigned(1), ROLE, "account-key-access").urn
