"""Customer-managed key policies: the account's encryption block, and the key, vault, identity and role chain."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import SUB, environment, stack
from policy_harness import Res, check_resource, check_stack, messages
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

VAULT_URI = "https://kv-aoai-swc.vault.azure.net/"
ENCRYPTION: dict[str, Any] = {"keySource": "Microsoft.KeyVault", "keyVaultProperties": {
    "keyVaultUri": VAULT_URI, "keyName": "aoai-cmk", "keyVersion": "0123abcd", "identityClientId": "c-1"}}


def account_inputs(encryption: Any = ENCRYPTION, identity_type: str = "UserAssigned") -> dict[str, Any]:
    props: dict[str, Any] = {"identity": {"type": identity_type}, "properties": {}}
    if encryption is not None:
        props["properties"]["encryption"] = copy.deepcopy(encryption)
    return props


def run_cmk(props: dict[str, Any], **kw: Any) -> list[str]:
    return check_resource("aoai-account-cmk", t.ACCOUNT, props, name="prod-openai-account", **kw)


# --- aoai-account-cmk ---

def test_an_account_encrypted_with_a_pinned_key_passes() -> None:
    assert run_cmk(account_inputs()) == []


def test_an_account_without_customer_managed_key_is_reported() -> None:
    (message,) = run_cmk(account_inputs(encryption=None))
    assert message.startswith("Encrypt Azure OpenAI account 'prod-openai-account' with a customer-managed key: set "
                              "properties.encryption.keySource to 'Microsoft.KeyVault' (it is not set)")


def test_microsoft_managed_keys_pass_only_when_cmk_is_not_required() -> None:
    props = account_inputs(encryption={"keySource": "Microsoft.CognitiveServices"})
    assert run_cmk(props) != []
    assert run_cmk(props, requireCmk=False) == []


def test_an_unpinned_key_version_is_reported_unless_allowed() -> None:
    encryption = copy.deepcopy(ENCRYPTION)
    del encryption["keyVaultProperties"]["keyVersion"]
    (message,) = run_cmk(account_inputs(encryption))
    assert message.startswith("Set properties.encryption.keyVaultProperties.keyVersion on Azure OpenAI account")
    assert "does not rotate to a new version by itself" in message
    assert run_cmk(account_inputs(encryption), requireKeyVersion=False) == []


def test_a_system_assigned_identity_needs_the_two_step_waiver() -> None:
    encryption = copy.deepcopy(ENCRYPTION)
    del encryption["keyVaultProperties"]["identityClientId"]
    props = account_inputs(encryption, identity_type="SystemAssigned")
    (message,) = run_cmk(props)
    assert message.startswith("Set properties.encryption.keyVaultProperties.identityClientId on Azure OpenAI account")
    assert run_cmk(props, allowSystemAssignedIdentity=True) == []


def test_key_references_computed_during_preview_count_as_set() -> None:
    encryption = copy.deepcopy(ENCRYPTION)
    encryption["keyVaultProperties"].update(keyVaultUri=UNKNOWN_STRING_VALUE, keyVersion=UNKNOWN_STRING_VALUE)
    assert run_cmk(account_inputs(encryption)) == []


def test_every_missing_key_reference_is_named_in_one_message() -> None:
    (message,) = run_cmk(account_inputs({"keySource": "Microsoft.KeyVault", "keyVaultProperties": {}}))
    assert message.startswith(
        "Set properties.encryption.keyVaultProperties.keyVaultUri and properties.encryption.keyVaultProperties.keyName "
        "and properties.encryption.keyVaultProperties.keyVersion and "
        "properties.encryption.keyVaultProperties.identityClientId on Azure OpenAI account 'prod-openai-account'")


# --- aoai-cmk-key-strength ---

def strength(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-cmk-key-strength", stack(env), **kw))


def test_an_hsm_rsa_2048_key_with_rotation_and_expiry_passes() -> None:
    assert strength(environment()) == []


def test_a_software_key_is_reported_where_hsm_is_required_and_passes_in_dev() -> None:
    env = environment()
    env["key"].props["kty"] = "RSA"
    assert strength(env, stack="prod") == [
        "Use an HSM-protected key for key 'swc-key' (it encrypts Azure OpenAI account 'swc-account'): set kty to "
        "'RSA-HSM' (it is 'RSA') in a premium vault."]
    assert strength(env, stack="dev") == []


def test_a_non_rsa_key_is_reported() -> None:
    env = environment()
    env["key"].props["kty"] = "EC-HSM"
    (message,) = strength(env)
    assert message.startswith("Set kty of key 'swc-key' (it encrypts Azure OpenAI account 'swc-account') to one of "
                              "'RSA' and 'RSA-HSM' (it is 'EC-HSM')")


def test_key_size_must_be_allowed_and_the_sizes_are_configurable() -> None:
    env = environment()
    env["key"].props["keySize"] = 3072.0
    (message,) = strength(env)
    assert "Set keySize of key 'swc-key'" in message and "to 2048 bits (it is 3072)" in message
    assert strength(env, allowedKeySizes=[2048, 3072]) == []


def test_a_key_without_a_rotate_action_is_reported() -> None:
    env = environment()
    env["key"].props["rotationPolicy"]["lifetimeActions"] = [
        {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]
    (message,) = strength(env)
    assert message.startswith("Add a rotationPolicy to key 'swc-key'")


def test_a_rotation_interval_over_the_limit_is_reported() -> None:
    env = environment()
    env["key"].props["rotationPolicy"]["lifetimeActions"][0]["trigger"]["timeAfterCreate"] = "P2Y"
    (message,) = strength(env)
    assert "at least every 365 days: its rotation trigger timeAfterCreate is 'P2Y'" in message
    assert strength(env, maxRotateAfterDays=800) == []


def test_a_key_without_any_expiry_is_reported_and_either_expiry_suffices() -> None:
    env = environment()
    del env["key"].props["attributes"]["expires"]
    assert strength(env) == []  # the rotation policy's expiryTime still bounds every version
    del env["key"].props["rotationPolicy"]["attributes"]
    (message,) = strength(env)
    assert message.startswith("Set an expiry on key 'swc-key'")
    assert strength(env, requireExpiry=False) == []


def test_key_operations_without_wrap_and_unwrap_are_reported() -> None:
    env = environment()
    env["key"].props["keyOps"] = ["sign", "verify"]
    (message,) = strength(env)
    assert message.startswith("Allow keyOps 'wrapKey' and 'unwrapKey' on key 'swc-key'")


def test_a_key_missing_from_the_stack_is_reported() -> None:
    env = environment()
    del env["key"], env["key_access"], env["key_lock"]
    env["account"].depends = []
    assert strength(env) == [
        "Create key 'aoai-cmk' in Key Vault 'swc-vault' in this stack: Azure OpenAI account 'swc-account' names it "
        "in properties.encryption.keyVaultProperties.keyName."]


def test_a_vault_outside_the_stack_is_reported() -> None:
    env = environment()
    env["account"].props["properties"]["encryption"]["keyVaultProperties"]["keyVaultUri"] = \
        "https://kv-elsewhere.vault.azure.net/"
    (message,) = strength(env)
    assert message.startswith("Manage the Key Vault https://kv-elsewhere.vault.azure.net/ that Azure OpenAI "
                              "account 'swc-account' names in this stack")


def test_a_key_in_input_shape_is_read_as_well() -> None:
    env = environment()
    key = env["key"].props
    nested = {k: key.pop(k) for k in ("kty", "keySize", "keyOps", "attributes", "rotationPolicy")}
    key["properties"] = nested
    assert strength(env) == []
    key["properties"]["kty"] = "RSA"
    assert len(strength(env)) == 1


# --- aoai-cmk-key-access ---

def access(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-cmk-key-access", stack(env), **kw))


def test_the_identity_holding_the_role_on_the_key_passes() -> None:
    assert access(environment()) == []


def test_the_role_on_the_vault_also_passes() -> None:
    env = environment()
    env["key_access"].props["scope"] = env["vault"].props["id"]
    assert access(env) == []


def test_a_role_at_resource_group_scope_is_reported_as_too_wide() -> None:
    env = environment()
    env["key_access"].props["scope"] = f"/subscriptions/{SUB}/resourceGroups/rg-swc"
    found = check_stack("aoai-cmk-key-access", stack(env))
    assert [f.urn for f in found] == [env["key_access"].urn, env["account"].urn]
    assert found[0].message.startswith(
        "Scope role assignment 'swc-key-access' (Key Vault Crypto Service Encryption User) to key 'swc-key' instead "
        f"of the resource group '/subscriptions/{SUB}/resourceGroups/rg-swc'")
    assert found[1].message.startswith("Grant principal '0a0a0a0a-1111-4222-8333-444444444swc'")


def test_a_wide_grant_next_to_a_narrow_one_is_still_reported() -> None:
    env = environment()
    wide = copy.deepcopy(env["key_access"])
    wide.name, wide.props["scope"] = "swc-key-access-sub", f"/subscriptions/{SUB}"
    env["wide"] = wide
    (message,) = access(env)
    assert "instead of the subscription" in message


def test_another_role_does_not_count() -> None:
    env = environment()
    env["key_access"].props["roleDefinitionId"] = (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/12338af0-0e69-4776-bea7-57ae8d297424")
    (message,) = access(env)
    assert "the role Key Vault Crypto Service Encryption User (e147488a-f6f5-4113-8e2d-b22465e65bf6)" in message


def test_an_identity_the_account_does_not_carry_is_reported() -> None:
    env = environment()
    env["account"].props["identity"]["userAssignedIdentities"] = {}
    (message,) = access(env)
    assert message.startswith("Add user-assigned identity 'swc-identity' to identity.userAssignedIdentities of Azure "
                              "OpenAI account 'swc-account'")


def test_an_unknown_client_id_is_reported() -> None:
    env = environment()
    env["account"].props["properties"]["encryption"]["keyVaultProperties"]["identityClientId"] = "nobody"
    (message,) = access(env)
    assert message.startswith("Create the user-assigned identity whose clientId is 'nobody' in this stack")


def test_the_account_must_wait_for_the_role_assignment() -> None:
    env = environment()
    env["account"].depends = []
    (message,) = access(env)
    assert message.startswith("Make Azure OpenAI account 'swc-account' depend on role assignment 'swc-key-access'")
    assert access(env, requireDependsOn=False) == []


def test_a_dependency_through_another_resource_is_enough() -> None:
    env = environment()
    env["account"].depends = ["swc-identity"]
    env["identity"].depends = ["swc-key-access"]
    assert access(env) == []


# --- aoai-key-vault-protection ---

def vault(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-key-vault-protection", stack(env), **kw))


def test_a_hardened_premium_vault_passes() -> None:
    assert vault(environment()) == []


@pytest.mark.parametrize("field", ["enableSoftDelete", "enablePurgeProtection", "enableRbacAuthorization"])
def test_each_recovery_and_rbac_flag_is_required(field: str) -> None:
    env = environment()
    env["vault"].props["properties"][field] = False
    (message,) = vault(env)
    assert message.startswith(f"Set properties.{field} to true on Key Vault 'swc-vault' (it is false)")


def test_public_access_and_an_open_firewall_are_reported() -> None:
    env = environment()
    env["vault"].props["properties"].update(publicNetworkAccess="Enabled",
                                            networkAcls={"defaultAction": "Allow", "bypass": "AzureServices"})
    assert vault(env) == [
        "Set properties.publicNetworkAccess to 'Disabled' on Key Vault 'swc-vault' (it is 'Enabled'): reach it "
        "through its private endpoint.",
        "Set properties.networkAcls.defaultAction to 'Deny' on Key Vault 'swc-vault' (it is 'Allow')."]


def test_soft_delete_retention_follows_the_stack_minimum() -> None:
    env = environment()
    env["vault"].props["properties"]["softDeleteRetentionInDays"] = 7.0
    (message,) = vault(env, stack="prod")
    assert message == "Set properties.softDeleteRetentionInDays on Key Vault 'swc-vault' to at least 90 (it is 7)."
    assert vault(env, stack="dev") == []


def test_an_hsm_key_in_a_standard_vault_is_reported() -> None:
    env = environment()
    env["vault"].props["properties"]["sku"]["name"] = "standard"
    (message,) = vault(env)
    assert message.startswith("Set properties.sku.name to 'premium' on Key Vault 'swc-vault' (it is 'standard'): it "
                              "holds HSM key 'swc-key'")


def test_a_software_key_may_live_in_a_standard_vault() -> None:
    env = environment()
    env["vault"].props["properties"]["sku"]["name"] = "standard"
    env["key"].props["kty"] = "RSA"
    assert vault(env) == []


def test_a_cmk_vault_must_let_trusted_services_through_its_firewall() -> None:
    env = environment()
    env["vault"].props["properties"]["networkAcls"]["bypass"] = "None"
    (message,) = vault(env)
    assert message.startswith("Set properties.networkAcls.bypass to 'AzureServices' on Key Vault 'swc-vault'")


def test_a_vault_no_account_uses_needs_no_bypass() -> None:
    env = environment()
    env["vault"].props["properties"]["networkAcls"]["bypass"] = "None"
    env["account"].props["properties"].pop("encryption")
    assert vault(env) == []


def test_a_cmk_vault_in_another_region_than_its_account_is_reported() -> None:
    env = environment()
    env["vault"].props["location"] = "francecentral"
    (message,) = vault(env)
    assert message.startswith("Create Key Vault 'swc-vault' in the region of Azure OpenAI account 'swc-account' "
                              "('swedencentral', it is 'francecentral')")


def test_vault_findings_are_reported_against_the_vault() -> None:
    env = environment()
    env["vault"].props["properties"]["enablePurgeProtection"] = False
    (finding,) = check_stack("aoai-key-vault-protection", stack(env))
    assert finding.urn == env["vault"].urn
