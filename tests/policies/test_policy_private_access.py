"""Private endpoint wiring for accounts and vaults: connection, group id, subnet and DNS zone group."""

from __future__ import annotations

from typing import Any

from policy_fixtures import arm, environment, stack, zone_id
from policy_harness import Res, check_stack, messages

US_GOV_ACCOUNT_ZONES = ["privatelink.openai.azure.us", "privatelink.cognitiveservices.azure.us"]


def accounts(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-account-private-endpoint", stack(env), **kw))


def vaults(env: dict[str, Res], **kw: Any) -> list[str]:
    return messages(check_stack("aoai-vault-private-endpoint", stack(env), **kw))


def test_wired_account_and_vault_endpoints_pass() -> None:
    env = environment()
    assert accounts(env) == []
    assert vaults(env) == []


def test_an_account_without_a_private_endpoint_is_reported() -> None:
    env = environment()
    del env["account_pe"], env["account_dns"]
    (finding,) = check_stack("aoai-account-private-endpoint", stack(env))
    assert finding.urn == env["account"].urn
    assert finding.message.startswith("Create a private endpoint for Azure OpenAI account 'swc-account': "
                                      "privateLinkServiceConnections[].privateLinkServiceId set to its id and "
                                      "groupIds ['account']")


def test_an_endpoint_to_another_resource_does_not_count() -> None:
    env = environment()
    env["account_pe"].props["privateLinkServiceConnections"][0]["privateLinkServiceId"] = arm(
        "rg-x", "Microsoft.CognitiveServices/accounts/other")
    assert accounts(env)[0].startswith("Create a private endpoint for Azure OpenAI account 'swc-account'")


def test_a_wrong_group_id_is_reported_on_the_endpoint() -> None:
    env = environment()
    env["account_pe"].props["privateLinkServiceConnections"][0]["groupIds"] = ["openai"]
    (finding,) = check_stack("aoai-account-private-endpoint", stack(env))
    assert finding.urn == env["account_pe"].urn
    assert finding.message == ("Set groupIds to ['account'] on the connection of private endpoint 'swc-account-pe' "
                               "to Azure OpenAI account 'swc-account' (it is ['openai']).")


def test_an_endpoint_without_a_dns_zone_group_is_reported() -> None:
    env = environment()
    del env["vault_dns"]
    (message,) = vaults(env)
    assert message.startswith("Add a PrivateDnsZoneGroup to private endpoint 'swc-vault-pe' registering it in "
                              "'privatelink.vaultcore.azure.net'")


def test_a_missing_zone_is_named() -> None:
    env = environment()
    env["account_dns"].props["privateDnsZoneConfigs"] = [
        {"name": "openai", "privateDnsZoneId": zone_id("privatelink.openai.azure.com")}]
    (message,) = accounts(env)
    assert message.startswith("Add the private DNS zone(s) 'privatelink.cognitiveservices.azure.com' to the zone "
                              "group of private endpoint 'swc-account-pe' (it registers "
                              "'privatelink.openai.azure.com')")


def test_an_ai_services_account_also_needs_the_services_ai_zone() -> None:
    env = environment(kind="AIServices")
    assert accounts(env) == []
    env["account_dns"].props["privateDnsZoneConfigs"].pop()
    (message,) = accounts(env)
    assert "'privatelink.services.ai.azure.com'" in message


def test_zone_names_are_configurable_for_us_government() -> None:
    env = environment()
    (message,) = accounts(env, accountZones=US_GOV_ACCOUNT_ZONES)
    assert "'privatelink.cognitiveservices.azure.us' and 'privatelink.openai.azure.us'" in message
    env["account_dns"].props["privateDnsZoneConfigs"] = [
        {"name": z, "privateDnsZoneId": zone_id(z)} for z in US_GOV_ACCOUNT_ZONES]
    assert accounts(env, accountZones=US_GOV_ACCOUNT_ZONES) == []


def test_a_zone_group_is_found_by_endpoint_name_and_resource_group_as_in_its_inputs() -> None:
    env = environment()
    dns = env["account_dns"]
    dns.parent = None
    dns.props["id"] = "/elsewhere/default"
    dns.props.update(privateEndpointName="pe-aoai-swc", resourceGroupName="rg-swc")
    assert accounts(env) == []
    dns.props["resourceGroupName"] = "rg-other"
    assert accounts(env)[0].startswith("Add a PrivateDnsZoneGroup to private endpoint 'swc-account-pe'")


def test_a_zone_group_is_found_by_its_pulumi_parent() -> None:
    env = environment()
    env["vault_dns"].props["id"] = "/elsewhere/default"
    assert vaults(env) == []


def test_endpoints_outside_the_approved_subnets_are_reported() -> None:
    env = environment()
    subnet = env["account_pe"].props["subnet"]["id"]
    assert accounts(env, approvedSubnetIds=[subnet]) == []
    (message,) = accounts(env, approvedSubnetIds=[arm("rg-hub", "Microsoft.Network/virtualNetworks/hub/subnets/pe")])
    assert message.startswith("Place private endpoint 'swc-account-pe' in one of the approved subnets")


def test_endpoints_outside_the_approved_vnets_are_reported() -> None:
    env = environment()
    assert vaults(env, approvedVnetIdPrefixes=[arm("rg-swc", "Microsoft.Network/virtualNetworks/vnet-swc")]) == []
    (message,) = vaults(env, approvedVnetIdPrefixes=[arm("rg-hub", "Microsoft.Network/virtualNetworks/hub")])
    assert message.startswith("Place private endpoint 'swc-vault-pe' in a subnet of an approved VNet")


def test_every_account_of_a_multi_region_stack_is_checked() -> None:
    swc, frc = environment(), environment("frc", "francecentral")
    del frc["account_pe"], frc["account_dns"]
    found = check_stack("aoai-account-private-endpoint", stack(swc, frc))
    assert [f.urn for f in found] == [frc["account"].urn]


def test_an_exempted_vault_is_skipped() -> None:
    env = environment()
    del env["vault_pe"], env["vault_dns"]
    assert vaults(env) != []
    assert vaults(env, exemptResources=[env["vault"].name]) == []
    assert vaults(env, exemptResources=[env["account"].name]) != []
