"""The Azure OpenAI account under the mock engine: its network rules, identity and encryption, its model deployments and
content filters, and its private endpoint."""

from __future__ import annotations

import itertools

import pytest

from components.openai import account_encryption, account_identity
from components.shared import CustomerManagedKeySpec, ManagedIdentitiesSpec
from offline.engine import Graph, run_program
from settings.shapes import (
    ACCOUNT,
    DEPLOYMENT,
    KEY,
    PRIVATE_ENDPOINT,
    RAI_POLICY,
    USER_ASSIGNED_IDENTITY,
    VAULT,
)
from tests.program.helpers import one
from tests.support import stack_values


def test_account_is_private_entra_only_and_encrypted_with_the_key(prod_graph: Graph) -> None:
    account = one(prod_graph, ACCOUNT, "swc")
    vault = one(prod_graph, VAULT, "swc")
    key = one(prod_graph, KEY, "swc")
    identity = one(prod_graph, USER_ASSIGNED_IDENTITY, "swc")
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


def test_deployments_are_created_one_at_a_time(dev_graph: Graph) -> None:
    order = [d.get("name", d["model"]) for d in stack_values("dev")["deployments"]]
    deployments = sorted(dev_graph.by_type(DEPLOYMENT), key=lambda d: order.index(d.inputs["deploymentName"]))
    assert len(deployments) == 6
    for previous, current in itertools.pairwise(deployments):
        assert previous.urn in current.dependencies, f"{current.name} must wait for {previous.name}"
    assert not any(d.urn in deployments[0].dependencies for d in deployments[1:])


def test_each_deployment_pins_model_version_sku_and_filter(prod_graph: Graph) -> None:
    chat = one(prod_graph, DEPLOYMENT, "swc-openai-deployment-chat-paygo")
    policy = one(prod_graph, RAI_POLICY, "swc")
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
    policy = one(prod_graph, RAI_POLICY, "swc")
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
    endpoint = one(prod_graph, PRIVATE_ENDPOINT, "swc-openai-pe")
    for deployment in (d for d in prod_graph.by_type(DEPLOYMENT) if "swc" in d.name):
        assert deployment.urn in endpoint.dependencies


IDENTITY_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-cmk"
OTHER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app"


def _key(identity: str | None = IDENTITY_ID) -> CustomerManagedKeySpec:
    return CustomerManagedKeySpec("https://kv.vault.azure.net/", "aoai-cmk", "0123abcd", identity,
                                  "client-id" if identity else None)


@pytest.mark.parametrize(("identities", "key", "expected"), [
    (ManagedIdentitiesSpec(system_assigned=True), None, ("SystemAssigned", None)),
    (ManagedIdentitiesSpec(), _key(), ("UserAssigned", [IDENTITY_ID])),
    # The key's identity is listed once, after the ones asked for, as AVM's account module unions them.
    (ManagedIdentitiesSpec(user_assigned_resource_ids=(OTHER_ID, IDENTITY_ID)), _key(),
     ("UserAssigned", [OTHER_ID, IDENTITY_ID])),
    (ManagedIdentitiesSpec(system_assigned=True), _key(), ("SystemAssigned, UserAssigned", [IDENTITY_ID])),
    (ManagedIdentitiesSpec(system_assigned=True), _key(identity=None), ("SystemAssigned", None)),
    (ManagedIdentitiesSpec(), None, None),
])
def test_the_account_carries_the_identities_asked_for_and_the_one_that_reads_its_key(
        identities: ManagedIdentitiesSpec, key: CustomerManagedKeySpec | None,
        expected: tuple[str, list[str] | None] | None) -> None:
    identity = account_identity(identities, key)
    if expected is None:
        assert identity is None
        return
    assert identity is not None
    assert (identity.type, identity.user_assigned_identities) == expected  # a str enum: equal to its value


def test_the_encryption_block_names_the_identity_by_client_id_only_when_a_user_assigned_one_reads_the_key() -> None:
    assert account_encryption(None) is None
    with_identity = account_encryption(_key())
    without = account_encryption(_key(identity=None))
    assert with_identity is not None and without is not None
    assert with_identity.key_source == "Microsoft.KeyVault"
    assert with_identity.key_vault_properties.identity_client_id == "client-id"
    assert without.key_vault_properties.identity_client_id is None
    assert (without.key_vault_properties.key_vault_uri, without.key_vault_properties.key_name,
            without.key_vault_properties.key_version) == ("https://kv.vault.azure.net/", "aoai-cmk", "0123abcd")


def test_a_user_assigned_identity_needs_its_resource_id_and_its_client_id() -> None:
    with pytest.raises(ValueError, match="both its resource id and its client id"):
        CustomerManagedKeySpec("https://kv.vault.azure.net/", "aoai-cmk", "0123abcd", IDENTITY_ID)
    with pytest.raises(ValueError, match="both its resource id and its client id"):
        CustomerManagedKeySpec("https://kv.vault.azure.net/", "aoai-cmk", "0123abcd",
                               user_assigned_identity_client_id="client-id")
