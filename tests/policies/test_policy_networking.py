"""Network placement: endpoint subnets, manual connections, the endpoint subnet's NSG, network rules, peering."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_fixtures import SUB, arm, environment, stack
from policy_harness import Res, check_resource, check_stack, messages
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

FOREIGN_SUBNET = arm("rg-partner", "Microsoft.Network/virtualNetworks/vnet-partner/subnets/default")


def placement(env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack("aoai-private-endpoint-placement", stack(env), **config))


def nsg(env: dict[str, Res], **config: Any) -> list[str]:
    return messages(check_stack("aoai-endpoint-subnet-nsg", stack(env), **config))


# --- aoai-private-endpoint-placement ------------------------------------------------------------------------------

def test_endpoints_in_the_stacks_subnet_with_automatic_connections_pass() -> None:
    assert placement(environment()) == []


def test_an_endpoint_in_another_teams_subnet_is_refused_unless_approved() -> None:
    env = environment()
    env["account_pe"].props["subnet"] = {"id": FOREIGN_SUBNET}
    (message,) = placement(env)
    assert message.startswith("Place private endpoint 'swc-account-pe' to Azure OpenAI account 'swc-account' in a "
                              f"subnet of this stack or one listed in approvedSubnetIds (it is in '{FOREIGN_SUBNET}')")
    assert placement(env, approvedSubnetIds=[FOREIGN_SUBNET.upper()]) == []


def test_a_second_endpoint_from_a_partner_network_is_refused() -> None:
    env = environment()
    partner = copy.deepcopy(env["account_pe"])
    partner.name = "partner-pe"
    partner.props.update(id=arm("rg-swc", "Microsoft.Network/privateEndpoints/partner"), subnet={"id": FOREIGN_SUBNET})
    env["partner"] = partner
    (finding,) = check_stack("aoai-private-endpoint-placement", stack(env))
    assert finding.urn == partner.urn


def test_a_manual_connection_is_refused_unless_allowed() -> None:
    env = environment()
    connections = env["vault_pe"].props.pop("privateLinkServiceConnections")
    env["vault_pe"].props["manualPrivateLinkServiceConnections"] = connections
    (message,) = placement(env)
    assert message.startswith("Replace the manualPrivateLinkServiceConnections of private endpoint 'swc-vault-pe'")
    assert placement(env, allowManualConnections=True) == []


# --- aoai-endpoint-subnet-nsg -------------------------------------------------------------------------------------

def test_the_programs_nsg_and_subnet_pass() -> None:
    assert nsg(environment()) == []


@pytest.mark.parametrize("source", ["*", "Internet", "0.0.0.0/0", "203.0.113.0/24", "AzureCloud", "Any"])
def test_an_inbound_allow_from_a_public_source_is_refused(source: str) -> None:
    env = environment()
    env["nsg"].props["securityRules"].insert(0, {
        "name": "open", "priority": 200.0, "direction": "Inbound", "access": "Allow", "protocol": "*",
        "sourceAddressPrefix": source, "destinationAddressPrefix": "*", "destinationPortRange": "*"})
    (message,) = nsg(env)
    assert message.startswith("Remove or narrow the inbound Allow rule 'open' of network security group 'swc-nsg': "
                              f"its source '{source}' includes addresses outside the VNet")


def test_private_ranges_and_listed_tags_may_be_allowed() -> None:
    env = environment()
    env["nsg"].props["securityRules"].insert(0, {
        "name": "hub", "priority": 150.0, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "sourceAddressPrefixes": ["10.0.0.0/8", "192.168.10.0/24"], "destinationPortRange": "443"})
    assert nsg(env) == []
    env["nsg"].props["securityRules"][0]["sourceAddressPrefixes"] = ["Storage"]
    assert nsg(env) != []
    assert nsg(env, allowedInboundSources=["VirtualNetwork", "Storage"]) == []


def test_a_separate_security_rule_resource_counts_as_the_nsgs() -> None:
    env = environment()
    nsg_id = env["nsg"].props["id"]
    env["rule"] = Res(t.SECURITY_RULE, "swc-open-rule", {
        "id": f"{nsg_id}/securityRules/open", "name": "open", "priority": 300.0, "direction": "Inbound",
        "access": "Allow", "protocol": "*", "sourceAddressPrefix": "Internet", "destinationPortRange": "*"})
    (message,) = nsg(env)
    assert "inbound Allow rule 'open'" in message


def test_without_an_explicit_deny_from_any_source_the_nsg_is_refused() -> None:
    env = environment()
    env["nsg"].props["securityRules"] = env["nsg"].props["securityRules"][:1]
    (message,) = nsg(env)
    assert message.startswith("Add an inbound Deny rule to network security group 'swc-nsg' with source '*'")
    env = environment()
    env["nsg"].props["securityRules"][1]["destinationPortRange"] = "22"
    assert nsg(env) != []


def test_a_subnet_without_nsg_or_with_endpoint_policies_off_is_refused() -> None:
    env = environment()
    del env["subnet"].props["networkSecurityGroup"]
    (message,) = nsg(env)
    assert message.startswith("Attach a network security group to subnet 'swc-pe-subnet', which hosts the private "
                              "endpoint(s) 'swc-account-pe' and 'swc-vault-pe'")
    env = environment()
    env["subnet"].props["privateEndpointNetworkPolicies"] = "Disabled"
    (finding,) = check_stack("aoai-endpoint-subnet-nsg", stack(env))
    assert finding.urn == env["subnet"].urn
    assert finding.message.startswith("Set privateEndpointNetworkPolicies to 'Enabled' on subnet 'swc-pe-subnet' "
                                      "(it is 'Disabled'")
    env["subnet"].props["privateEndpointNetworkPolicies"] = "NetworkSecurityGroupEnabled"
    assert nsg(env) == []


def test_an_nsg_outside_the_stack_must_be_approved() -> None:
    env = environment()
    hub_nsg = arm("rg-hub", "Microsoft.Network/networkSecurityGroups/nsg-hub")
    env["subnet"].props["networkSecurityGroup"] = {"id": hub_nsg}
    (message,) = nsg(env)
    assert "or list that NSG in approvedNsgIds" in message
    assert nsg(env, approvedNsgIds=[hub_nsg]) == []


def test_an_inline_subnet_definition_in_the_vnet_is_judged_too() -> None:
    env = environment()
    env["vnet"].props["subnets"] = [{"name": "private-endpoints", "addressPrefix": "10.40.1.0/24"}]
    findings = check_stack("aoai-endpoint-subnet-nsg", stack(env))
    assert [f.urn for f in findings] == [env["vnet"].urn, env["vnet"].urn]
    assert findings[0].message.startswith("Attach a network security group to subnet 'private-endpoints' (inline in "
                                          "virtual network 'swc-vnet')")


# --- aoai-no-network-rules ----------------------------------------------------------------------------------------

def acls(resource_type: str, **rules: Any) -> list[str]:
    props = {"properties": {"networkAcls": {"defaultAction": "Deny", **rules}}}
    return check_resource("aoai-no-network-rules", resource_type, props, name="target")


def test_empty_network_rules_pass() -> None:
    assert acls(t.ACCOUNT, ipRules=[], virtualNetworkRules=[]) == []
    assert acls(t.VAULT) == []


def test_vnet_rules_on_the_account_and_ip_rules_on_the_vault_are_refused() -> None:
    subnet = arm("rg-x", "Microsoft.Network/virtualNetworks/v/subnets/s")
    (message,) = acls(t.ACCOUNT, virtualNetworkRules=[{"id": subnet}])
    assert message.startswith(f"Remove '{subnet}' from properties.networkAcls.virtualNetworkRules on Azure OpenAI "
                              f"account 'target'")
    (message,) = acls(t.VAULT, ipRules=[{"value": "203.0.113.7"}])
    assert message.startswith("Remove '203.0.113.7' from properties.networkAcls.ipRules on Key Vault 'target'")
    assert check_resource("aoai-no-network-rules", t.VAULT, {"properties": {"networkAcls": {
        "ipRules": [{"value": "203.0.113.7"}]}}}, allowedIpRules=["203.0.113.7"]) == []


def test_malformed_network_rules_are_refused() -> None:
    (message,) = acls(t.ACCOUNT, ipRules={"value": "0.0.0.0/0"})
    assert message.startswith("Set properties.networkAcls.ipRules on Azure OpenAI account 'target' to an empty list")


# --- aoai-no-vnet-peering -----------------------------------------------------------------------------------------

HUB = f"/subscriptions/{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"
DEV = f"/subscriptions/{SUB}/resourceGroups/rg-aoai-dev-swc/providers/Microsoft.Network/virtualNetworks/vnet-dev"


def test_a_vnet_without_peerings_passes() -> None:
    assert check_resource("aoai-no-vnet-peering", t.VIRTUAL_NETWORK, {"addressSpace": {}}) == []


def test_prod_peered_with_dev_is_refused_in_either_form() -> None:
    (message,) = check_resource("aoai-no-vnet-peering", t.VIRTUAL_NETWORK_PEERING,
                                {"remoteVirtualNetwork": {"id": DEV}}, name="prod-to-dev")
    assert message.startswith(f"Remove the peering of virtual network peering 'prod-to-dev' to '{DEV}'")
    inline = {"virtualNetworkPeerings": [{"name": "to-dev", "remoteVirtualNetwork": {"id": DEV}}]}
    assert len(check_resource("aoai-no-vnet-peering", t.VIRTUAL_NETWORK, inline)) == 1


def test_a_listed_hub_may_be_peered_but_not_an_unknown_vnet() -> None:
    assert check_resource("aoai-no-vnet-peering", t.VIRTUAL_NETWORK_PEERING, {"remoteVirtualNetwork": {"id": HUB}},
                          allowedRemoteVnetIds=[HUB]) == []
    (message,) = check_resource("aoai-no-vnet-peering", t.VIRTUAL_NETWORK_PEERING,
                                {"remoteVirtualNetwork": {"id": UNKNOWN_STRING_VALUE}}, allowedRemoteVnetIds=[HUB])
    assert "whose id is computed during the update" in message
