"""Private networking under the mock engine: private endpoints and their DNS zone groups, the shared zones and their
links, the subnet's NSG. Hub and spoke and the US Government cloud's zone names are scenarios (tests/scenarios/,
tests/offline/test_scenarios.py)."""

from __future__ import annotations

from offline.engine import Graph
from settings.shapes import (
    ACCOUNT,
    NETWORK_SECURITY_GROUP,
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    SUBNET,
    VAULT,
    VIRTUAL_NETWORK,
    VIRTUAL_NETWORK_LINK,
)
from tests.program.helpers import one


def test_private_endpoints_name_group_ids_and_dns_zones(prod_graph: Graph) -> None:
    zones = {z.inputs["privateZoneName"]: z for z in prod_graph.by_type(PRIVATE_ZONE)}
    assert set(zones) == {"privatelink.openai.azure.com", "privatelink.cognitiveservices.azure.com",
                          "privatelink.vaultcore.azure.net"}
    assert all(z.inputs["location"] == "global" for z in zones.values())
    account, vault = one(prod_graph, ACCOUNT, "swc"), one(prod_graph, VAULT, "swc")
    subnet = one(prod_graph, SUBNET, "swc")
    for endpoint_name, target, group, zone_names in (
        ("swc-openai-pe", account, "account", {"privatelink.openai.azure.com",
                                              "privatelink.cognitiveservices.azure.com"}),
        ("swc-cmk-pe", vault, "vault", {"privatelink.vaultcore.azure.net"}),
    ):
        endpoint = one(prod_graph, PRIVATE_ENDPOINT, endpoint_name)
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        assert connection["privateLinkServiceId"] == target.id
        assert connection["groupIds"] == [group]
        assert endpoint.inputs["subnet"] == {"id": subnet.id}
        zone_group = next(g for g in prod_graph.by_type(PRIVATE_DNS_ZONE_GROUP) if g.parent == endpoint.urn)
        named = {c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]}
        assert named == {zones[z].id for z in zone_names}


def test_zones_are_shared_and_linked_to_every_regions_vnet(prod_graph: Graph) -> None:
    vnets = {v.id for v in prod_graph.by_type(VIRTUAL_NETWORK)}
    links = prod_graph.by_type(VIRTUAL_NETWORK_LINK)
    assert len(prod_graph.by_type(PRIVATE_ZONE)) == 3 and len(links) == 6
    assert {link.inputs["virtualNetwork"]["id"] for link in links} == vnets
    assert all(link.inputs["registrationEnabled"] is False for link in links)


def test_subnet_applies_its_nsg_to_private_endpoints(prod_graph: Graph) -> None:
    subnet = one(prod_graph, SUBNET, "swc")
    nsg = one(prod_graph, NETWORK_SECURITY_GROUP, "swc")
    assert subnet.inputs["addressPrefix"] == "10.40.1.0/24"
    assert subnet.inputs["privateEndpointNetworkPolicies"] == "Enabled"
    assert subnet.inputs["networkSecurityGroup"] == {"id": nsg.id}
    rules = {r["name"]: r for r in nsg.inputs["securityRules"]}
    assert rules["deny-all-other-inbound"]["access"] == "Deny"
    assert rules["allow-https-from-vnet"]["destinationPortRange"] == "443"
