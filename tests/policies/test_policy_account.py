"""The account policies, on the account's inputs as `pulumi preview` sends them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_harness import check_resource
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

IDENTITY = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1"
GOOD: dict[str, Any] = {
    "accountName": "aoai-prod-swc", "resourceGroupName": "rg", "location": "swedencentral", "kind": "OpenAI",
    "sku": {"name": "S0"}, "identity": {"type": "UserAssigned", "userAssignedIdentities": [IDENTITY]},
    "properties": {
        "customSubDomainName": "aoai-prod-swc", "publicNetworkAccess": "Disabled", "disableLocalAuth": True,
        "networkAcls": {"defaultAction": "Deny", "bypass": "None", "ipRules": [], "virtualNetworkRules": []},
        "restrictOutboundNetworkAccess": True, "allowedFqdnList": [],
    },
}


def account(**properties: Any) -> dict[str, Any]:
    """The compliant account with some of its `properties` replaced (None removes one)."""
    props = copy.deepcopy(GOOD)
    for key, value in properties.items():
        if value is None:
            props["properties"].pop(key, None)
        else:
            props["properties"][key] = value
    return props


def run(policy: str, props: dict[str, Any], **kw: Any) -> list[str]:
    return check_resource(policy, t.ACCOUNT, props, name="prod-openai-account", **kw)


@pytest.mark.parametrize("policy", [
    "aoai-account-public-network-disabled", "aoai-account-network-acls-deny", "aoai-account-local-auth-disabled",
    "aoai-account-managed-identity", "aoai-account-custom-subdomain", "aoai-account-outbound-restricted",
    "aoai-account-kind-sku"])
@pytest.mark.parametrize("stack", ["prod", "dev", None])
def test_the_compliant_account_passes_every_account_policy(policy: str, stack: str) -> None:
    assert run(policy, account(), stack=stack) == []


def test_public_network_access_enabled_is_reported_with_the_fix() -> None:
    assert run("aoai-account-public-network-disabled", account(publicNetworkAccess="Enabled")) == [
        "Set properties.publicNetworkAccess to 'Disabled' on Azure OpenAI account 'prod-openai-account' (it is "
        "'Enabled'), so the account is reachable only through its private endpoint."]


def test_public_network_access_left_unset_is_reported() -> None:
    (message,) = run("aoai-account-public-network-disabled", account(publicNetworkAccess=None))
    assert "(it is not set)" in message


def test_account_policies_ignore_other_resource_types() -> None:
    vault = {"properties": {"publicNetworkAccess": "Enabled"}}
    assert check_resource("aoai-account-public-network-disabled", t.VAULT, vault) == []


def test_an_exempted_account_is_skipped() -> None:
    bad = account(publicNetworkAccess="Enabled")
    assert run("aoai-account-public-network-disabled", bad, exemptResources=["prod-openai-account"]) == []
    assert run("aoai-account-public-network-disabled", bad, exemptResources=["other"]) != []


def test_network_rules_that_allow_by_default_are_reported() -> None:
    acls = {"defaultAction": "Allow", "bypass": "None", "ipRules": []}
    (message,) = run("aoai-account-network-acls-deny", account(networkAcls=acls))
    assert message.startswith("Set properties.networkAcls.defaultAction to 'Deny' on Azure OpenAI account "
                              "'prod-openai-account' (it is 'Allow')")


def test_public_ip_rules_are_reported_by_value() -> None:
    acls = {"defaultAction": "Deny", "bypass": "None", "ipRules": [{"value": "203.0.113.0/24"}]}
    (message,) = run("aoai-account-network-acls-deny", account(networkAcls=acls))
    assert message.startswith("Remove the ipRules '203.0.113.0/24' from properties.networkAcls")


def test_missing_network_rules_are_reported() -> None:
    (message,) = run("aoai-account-network-acls-deny", account(networkAcls=None))
    assert "Set properties.networkAcls to {defaultAction: 'Deny', ipRules: []}" in message


def test_trusted_services_bypass_is_refused_by_prod_config_but_allowed_by_default() -> None:
    acls = {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []}
    (message,) = run("aoai-account-network-acls-deny", account(networkAcls=acls), stack="prod")
    assert "Set properties.networkAcls.bypass to one of 'None'" in message
    assert run("aoai-account-network-acls-deny", account(networkAcls=acls), stack=None) == []


@pytest.mark.parametrize("value", [False, None])
def test_local_auth_not_disabled_is_reported(value: Any) -> None:
    (message,) = run("aoai-account-local-auth-disabled", account(disableLocalAuth=value))
    assert message.startswith("Set properties.disableLocalAuth to true on Azure OpenAI account 'prod-openai-account'")


def test_an_account_without_identity_is_reported() -> None:
    props = account()
    del props["identity"]
    (message,) = run("aoai-account-managed-identity", props, stack=None)
    assert message.startswith("Give Azure OpenAI account 'prod-openai-account' a managed identity")


def test_system_assigned_identity_passes_by_default_but_not_where_user_assigned_is_required() -> None:
    props = account()
    props["identity"] = {"type": "SystemAssigned"}
    assert run("aoai-account-managed-identity", props, stack=None) == []
    (message,) = run("aoai-account-managed-identity", props, stack="prod")
    assert message.startswith("Add a user-assigned identity to Azure OpenAI account 'prod-openai-account'")


def test_user_assigned_type_without_an_identity_is_reported() -> None:
    props = account()
    props["identity"] = {"type": "UserAssigned", "userAssignedIdentities": []}
    (message,) = run("aoai-account-managed-identity", props)
    assert "List the identity's resource id in identity.userAssignedIdentities" in message


def test_identity_ids_computed_during_preview_still_count() -> None:
    props = account()
    props["identity"]["userAssignedIdentities"] = [UNKNOWN_STRING_VALUE]
    assert run("aoai-account-managed-identity", props) == []


def test_identity_map_of_provider_outputs_is_understood() -> None:
    props = account()
    props["identity"]["userAssignedIdentities"] = {IDENTITY: {"principalId": "p", "clientId": "c"}}
    assert run("aoai-account-managed-identity", props) == []


def test_missing_custom_subdomain_is_reported() -> None:
    (message,) = run("aoai-account-custom-subdomain", account(customSubDomainName=None))
    assert message.startswith("Set properties.customSubDomainName on Azure OpenAI account 'prod-openai-account'")


def test_invalid_custom_subdomain_is_reported_and_the_pattern_is_configurable() -> None:
    (message,) = run("aoai-account-custom-subdomain", account(customSubDomainName="-bad-"))
    assert "Change properties.customSubDomainName '-bad-'" in message
    assert run("aoai-account-custom-subdomain", account(customSubDomainName="aoai-x"), pattern="^corp-") != []


def test_custom_subdomain_computed_during_preview_is_not_a_violation() -> None:
    assert run("aoai-account-custom-subdomain", account(customSubDomainName=UNKNOWN_STRING_VALUE)) == []


def test_unrestricted_outbound_access_is_reported() -> None:
    (message,) = run("aoai-account-outbound-restricted", account(restrictOutboundNetworkAccess=False))
    assert message.startswith("Set properties.restrictOutboundNetworkAccess to true on Azure OpenAI account")


def test_missing_fqdn_list_is_reported() -> None:
    (message,) = run("aoai-account-outbound-restricted", account(allowedFqdnList=None))
    assert "Set properties.allowedFqdnList on Azure OpenAI account 'prod-openai-account'" in message


def test_fqdns_outside_the_approved_domains_are_reported() -> None:
    # The suffix check moved to aoai-outbound-fqdn-allow-list, where an empty list now means no outbound host at all.
    props = account(allowedFqdnList=["search.contoso.com", "paste.example.org"])
    (message,) = run("aoai-outbound-fqdn-allow-list", props, approvedFqdnSuffixes=["contoso.com"])
    assert message.startswith("Remove 'paste.example.org' from properties.allowedFqdnList")
    assert run("aoai-account-outbound-restricted", props) == []
    assert len(run("aoai-outbound-fqdn-allow-list", props)) == 2


def test_unapproved_kind_and_sku_are_reported() -> None:
    props = account()
    props.update(kind="TextAnalytics", sku={"name": "F0"})
    assert run("aoai-account-kind-sku", props) == [
        "Set kind on Azure OpenAI account 'prod-openai-account' to one of 'OpenAI' and 'AIServices' (it is "
        "'TextAnalytics').",
        "Set sku.name on Azure OpenAI account 'prod-openai-account' to one of 'S0' (it is 'F0')."]


def test_allowed_kinds_are_configurable() -> None:
    props = account()
    props["kind"] = "AIServices"
    assert run("aoai-account-kind-sku", props) == []
    assert run("aoai-account-kind-sku", props, allowedKinds=["OpenAI"]) == [], "an allow-list extends its default"
    assert run("aoai-account-kind-sku", props, allowedKinds=["OpenAI"], replace=["allowedKinds"]) != []


# --- aoai-outbound-fqdn-allow-list ---

def fqdns(entries: object, **config: Any) -> list[str]:
    return run("aoai-outbound-fqdn-allow-list", account(allowedFqdnList=entries), **config)


def test_no_hosts_pass_and_an_empty_approved_list_means_no_outbound_at_all() -> None:
    assert fqdns([]) == []
    (message,) = fqdns(["contoso.blob.core.windows.net"])
    assert message == ("Remove 'contoso.blob.core.windows.net' from properties.allowedFqdnList on Azure OpenAI "
                       "account 'prod-openai-account': 'contoso.blob.core.windows.net' is not allowed: "
                       "approvedFqdnSuffixes is empty, so the account may call no host. The account may send data "
                       "only to hosts under the reviewed approvedFqdnSuffixes.")


def test_hosts_and_narrow_wildcards_under_an_approved_suffix_pass() -> None:
    approved = ["contoso.com", "contosodata.blob.core.windows.net"]
    assert fqdns(["search.contoso.com", "*.ai.contoso.com", "contosodata.blob.core.windows.net"],
                 approvedFqdnSuffixes=approved) == []


@pytest.mark.parametrize(("entry", "reason"), [
    ("*", "a bare or embedded '*' allows anything"),
    ("api.*.com", "a bare or embedded '*' allows anything"),
    ("*.com", "is a broad wildcard"),
    ("*.windows.net", "is a broad wildcard"),
    ("*.blob.core.windows.net", "is a broad wildcard"),
    ("evilcontoso.com", "is not under an approved suffix"),
    ("contoso.com.evil.io", "is not under an approved suffix"),
])
def test_bare_and_broad_wildcards_and_lookalike_hosts_are_refused(entry: str, reason: str) -> None:
    (message,) = fqdns([entry], approvedFqdnSuffixes=["contoso.com", "windows.net"])
    assert message.startswith(f"Remove '{entry}' from properties.allowedFqdnList") and reason in message


def test_a_malformed_fqdn_list_is_refused_not_read_as_empty() -> None:
    (message,) = fqdns({"host": "contoso.com"})
    assert message.startswith("Set properties.allowedFqdnList on Azure OpenAI account 'prod-openai-account' to a list")
    (message,) = fqdns([{"host": "contoso.com"}], approvedFqdnSuffixes=["contoso.com"])
    assert "is not a host name" in message
