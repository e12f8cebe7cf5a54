"""Private networking: the shared private DNS zones, and each region's VNet and private-endpoint subnet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, privatedns, resources


@dataclass(frozen=True)
class PrivateDnsZonesArgs:
    """The zones needed (keys into `zone_names`), and either a resource group to create them in or the ids of
    existing hub zones."""

    zone_keys: tuple[str, ...]
    zone_names: Mapping[str, str]
    location: str
    resource_group_name: str
    existing_zone_ids: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class PrivateDnsZones(pulumi.ComponentResource):
    """The private DNS zones, global and shared by every region; or, in hub and spoke, the hub's zones by id."""

    zone_ids: dict[str, pulumi.Output[str]]
    """Zone key (openai, cognitiveservices, vault, and aiservices for AIServices accounts) -> zone resource id."""
    resource_group_name: pulumi.Output[str] | None
    """The resource group holding created zones (None when the zones are the hub's)."""

    def __init__(self, name: str, args: PrivateDnsZonesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:network:PrivateDnsZones", name, None, opts)
        if args.existing_zone_ids:
            self.resource_group_name = None
            self.zone_ids = {k: pulumi.Output.from_input(args.existing_zone_ids[k]) for k in args.zone_keys}
        else:
            group = resources.ResourceGroup(
                f"{name}-rg", resource_group_name=args.resource_group_name, location=args.location,
                tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self))
            self.resource_group_name = group.name
            self.zone_ids = {
                key: privatedns.PrivateZone(
                    f"{name}-{key}", private_zone_name=args.zone_names[key], resource_group_name=group.name,
                    location="global", tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self),
                ).id
                for key in args.zone_keys
            }
        self.register_outputs({"zoneIds": self.zone_ids})

    @property
    def creates_zones(self) -> bool:
        return self.resource_group_name is not None


@dataclass(frozen=True)
class NetworkArgs:
    """A region's network: address ranges to create a VNet from, or an existing subnet id."""

    location: str
    resource_group_name: pulumi.Input[str]
    base_name: str
    vnet_address_space: str | None = None
    private_endpoint_subnet: str | None = None
    existing_subnet_id: str | None = None
    existing_vnet_id: str | None = None
    zones: PrivateDnsZones | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    """A VNet with a private-endpoint subnet behind an NSG (or an existing subnet), linked to the private DNS zones."""

    subnet_id: pulumi.Output[str]
    """The subnet that every private endpoint of the region lands in."""
    vnet_id: pulumi.Output[str]
    """The VNet the private DNS zones are linked to."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_subnet_id is not None:
            self.subnet_id = pulumi.Output.from_input(args.existing_subnet_id)
            self.vnet_id = pulumi.Output.from_input(args.existing_vnet_id or "")
        else:
            nsg = network.NetworkSecurityGroup(
                f"{name}-nsg", network_security_group_name=f"nsg-{args.base_name}-pe",
                resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags),
                security_rules=[
                    {"name": "allow-https-from-vnet", "priority": 100, "direction": "Inbound", "access": "Allow",
                     "protocol": "Tcp", "source_address_prefix": "VirtualNetwork", "source_port_range": "*",
                     "destination_address_prefix": "VirtualNetwork", "destination_port_range": "443"},
                    {"name": "deny-all-other-inbound", "priority": 4096, "direction": "Inbound", "access": "Deny",
                     "protocol": "*", "source_address_prefix": "*", "source_port_range": "*",
                     "destination_address_prefix": "*", "destination_port_range": "*"},
                ],
                opts=child)
            vnet = network.VirtualNetwork(
                f"{name}-vnet", virtual_network_name=f"vnet-{args.base_name}",
                resource_group_name=args.resource_group_name, location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[str(args.vnet_address_space)]),
                tags=dict(args.tags),
                # Subnets are their own resources below; leaving them out here keeps the two from fighting.
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]))
            subnet = network.Subnet(
                f"{name}-pe-subnet", subnet_name="private-endpoints", virtual_network_name=vnet.name,
                resource_group_name=args.resource_group_name, address_prefix=args.private_endpoint_subnet,
                network_security_group={"id": nsg.id},
                # NSG rules only apply to private endpoints when network policies are enabled on the subnet.
                private_endpoint_network_policies="Enabled",
                default_outbound_access=False,
                opts=pulumi.ResourceOptions(parent=self))
            self.subnet_id = subnet.id
            self.vnet_id = vnet.id
        if args.zones is not None and args.zones.creates_zones:
            self._link(name, args)
        self.register_outputs({"subnetId": self.subnet_id, "vnetId": self.vnet_id})

    def _link(self, name: str, args: NetworkArgs) -> None:
        """Link each zone created here to this region's VNet, so lookups from it resolve to private IPs."""
        zones = args.zones
        assert zones is not None and zones.resource_group_name is not None
        for key, zone_id in zones.zone_ids.items():
            privatedns.VirtualNetworkLink(
                f"{name}-link-{key}", virtual_network_link_name=f"link-{args.base_name}",
                private_zone_name=zone_id.apply(lambda i: i.split("/")[-1]),
                resource_group_name=zones.resource_group_name, location="global",
                virtual_network={"id": self.vnet_id}, registration_enabled=False, tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self))
