"""Network placement: where the private endpoints of the account and the vault sit, what guards their subnet, and
which networks may reach it.

`aoai-account-private-endpoint` and `aoai-vault-private-endpoint` check that an endpoint exists and resolves; these
rules check that it is the only way in: an approved subnet of this stack, an automatic connection, an NSG that denies
inbound from the Internet and from any source (with endpoint network policies on, so the NSG applies), no network or
IP rules on the services, and no peering that widens the network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .common import (
    UNKNOWN,
    Config,
    Stack,
    Violation,
    child_parent,
    flag,
    get,
    get_or_unknown,
    items,
    listing,
    names,
    norm_id,
    number,
    resource_id,
    resource_policy,
    same,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import NETWORK_ISOLATION, PolicyMeta
from .tokens import (
    ACCOUNT,
    NETWORK_SECURITY_GROUP,
    PRIVATE_ENDPOINT,
    SECURITY_RULE,
    SUBNET,
    VAULT,
    VIRTUAL_NETWORK,
    VIRTUAL_NETWORK_PEERING,
)

CONCERN = "network"
# privateEndpointNetworkPolicies values under which the subnet's NSG applies to private endpoints (REST spec
# Microsoft.Network 2024-05-01 virtualNetwork.json, VirtualNetworkPrivateEndpointNetworkPolicies; Learn "Manage
# network policies for private endpoints", https://learn.microsoft.com/azure/private-link/
# disable-private-endpoint-network-policy, read 2026-11-30: disabled by default, NSG support must be enabled).
NSG_POLICIES = ("Enabled", "NetworkSecurityGroupEnabled")
# Source prefixes meaning "every address" (NSG rules write 0.0.0.0/0 as * or Any; Learn, network security groups
# overview, default security rules, as reproduced at https://www.neo4tech.net/the-3-default-azure-network-security-
# nsg-rules/, read 2026-11-30).
ANY_SOURCE = ("*", "any", "0.0.0.0/0", "internet")
# The private address ranges (RFC 1918, and unique local IPv6 addresses): not `is_private`, which also counts
# documentation and reserved ranges that are routable in practice.
PRIVATE_RANGES = tuple(ipaddress.ip_network(r) for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


@dataclass(frozen=True)
class SubnetDefinition:
    """A subnet as some resource of the stack defines it: a Subnet resource, or an entry of a VNet's `subnets`."""

    id: str
    props: Mapping[str, Any]
    owner: PolicyResource
    inline: bool

    @property
    def who(self) -> str:
        name = get(self.props, "name") or self.id.rsplit("/", 1)[-1]
        where = f" (inline in {subject(VIRTUAL_NETWORK, self.owner.name)})" if self.inline else ""
        return f"subnet {show(name)}{where}" if self.inline else subject(SUBNET, self.owner.name)


def subnet_definitions(stack: Stack) -> list[SubnetDefinition]:
    """Every definition of a subnet in the stack, by normalized subnet id."""
    found = [SubnetDefinition(resource_id(s), s.props, s, False) for s in stack.of_type(SUBNET) if resource_id(s)]
    for vnet in stack.of_type(VIRTUAL_NETWORK):
        for subnet in items(get(vnet.props, "subnets")):
            if not isinstance(subnet, Mapping):
                continue
            name = str(get(subnet, "name", "")).lower()
            subnet_id = norm_id(get(subnet, "id")) or f"{resource_id(vnet)}/subnets/{name}"
            found.append(SubnetDefinition(subnet_id, subnet, vnet, True))
    return found


def connections(endpoint: PolicyResource, key: str) -> list[str]:
    """The normalized target ids of an endpoint's connections under `key` (automatic or manual)."""
    return [norm_id(get(c, "privateLinkServiceId")) for c in items(get(endpoint.props, key))]


def guarded_endpoints(stack: Stack) -> list[tuple[PolicyResource, list[PolicyResource]]]:
    """Private endpoints connecting (automatically or manually) to an account or vault of this stack, each with the
    accounts and vaults it reaches."""
    targets = stack.by_id(ACCOUNT, VAULT)
    found = []
    for endpoint in stack.of_type(PRIVATE_ENDPOINT):
        ids = connections(endpoint, "privateLinkServiceConnections") + connections(
            endpoint, "manualPrivateLinkServiceConnections")
        reached = [targets[i] for i in dict.fromkeys(ids) if i in targets]
        if reached:
            found.append((endpoint, reached))
    return found


# --- aoai-private-endpoint-placement ------------------------------------------------------------------------------

def _placement(stack: Stack, cfg: Config) -> Iterator[Violation]:
    own = {d.id for d in subnet_definitions(stack)}
    approved = own | {norm_id(s) for s in cfg.strings("approvedSubnetIds")}
    for endpoint in stack.of_type(PRIVATE_ENDPOINT):
        pe = subject(PRIVATE_ENDPOINT, endpoint.name)
        manual = items(get(endpoint.props, "manualPrivateLinkServiceConnections"))
        if manual and not cfg.flag("allowManualConnections"):
            targets = names(connections(endpoint, "manualPrivateLinkServiceConnections"))
            yield Violation(f"Replace the manualPrivateLinkServiceConnections of {pe} ({targets}) with "
                            f"privateLinkServiceConnections: a manual "
                            f"connection waits for an approval outside this stack's review, on a resource that may "
                            f"not be this stack's.", endpoint.urn)
    for endpoint, reached in guarded_endpoints(stack):
        subnet = norm_id(get(endpoint.props, "subnet.id"))
        if subnet not in approved:
            targets = listing(subject(t.resource_type, t.name) for t in reached)
            yield Violation(f"Place {subject(PRIVATE_ENDPOINT, endpoint.name)} to {targets} in a subnet of this "
                            f"stack or one listed in approvedSubnetIds (it is in "
                            f"{show(get(endpoint.props, 'subnet.id'))}): an endpoint in another network opens the "
                            f"service to everyone who reaches that network.",
                            endpoint.urn)


PRIVATE_ENDPOINT_PLACEMENT = stack_policy(
    PolicyMeta(
        name="aoai-private-endpoint-placement", control="network", concern=CONCERN, kind="stack",
        display_name="Private endpoints sit in approved subnets with automatic connections",
        severity=Severity.HIGH, controls=NETWORK_ISOLATION,
        remediation="Create the account's and vault's private endpoints in the stack's private-endpoint subnet (or a "
                    "hub subnet listed in approvedSubnetIds) with privateLinkServiceConnections; never a manual "
                    "connection, never a second endpoint from another network."),
    "Every private endpoint to an account or vault must sit in a subnet of this stack (or an approved one) and use "
    "an automatic connection; manual connections are refused.",
    {"approvedSubnetIds": string_list("Subnet ids outside this stack (e.g. a hub's) where endpoints may sit.", []),
     "allowManualConnections": flag("Accept manualPrivateLinkServiceConnections.", False)},
    _placement)


# --- aoai-endpoint-subnet-nsg -------------------------------------------------------------------------------------

def nsg_rules(stack: Stack, nsg: PolicyResource) -> list[Mapping[str, Any]]:
    """The NSG's rules: inline `securityRules` and SecurityRule resources of the stack that belong to it."""
    rules = [r for r in items(get(nsg.props, "securityRules")) if isinstance(r, Mapping)]
    nsg_id = resource_id(nsg)
    nsg_name = get(nsg.props, "networkSecurityGroupName") or get(nsg.props, "name")
    for rule in stack.of_type(SECURITY_RULE):
        by_id = bool(nsg_id) and child_parent(resource_id(rule), "securityRules") == nsg_id
        by_name = same(get(rule.props, "networkSecurityGroupName"), nsg_name)
        if by_id or by_name:
            rules.append(rule.props)
    return rules


def _prefixes(rule: Mapping[str, Any], single: str, plural: str) -> list[str]:
    values = [get(rule, single), *items(get(rule, plural))]
    return [str(v).strip() for v in values if v not in (None, "")]


def _may_be_public(prefix: str, allowed: set[str]) -> bool:
    """Whether a source prefix may carry addresses outside the private ranges: any service tag or range not listed,
    the Internet tag, `*`; private CIDRs and the listed tags (VirtualNetwork, AzureLoadBalancer) are inside."""
    if prefix.lower() in allowed:
        return False
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return True
    return not any(network.version == r.version and network.subnet_of(r) for r in PRIVATE_RANGES)  # type: ignore[arg-type]


def _inbound(rule: Mapping[str, Any]) -> bool:
    return str(get(rule, "direction", "Inbound")).lower() == "inbound"


def _check_nsg(nsg: PolicyResource, rules: list[Mapping[str, Any]], cfg: Config) -> Iterator[Violation]:
    who = subject(NETWORK_SECURITY_GROUP, nsg.name)
    allowed = {s.lower() for s in cfg.strings("allowedInboundSources")}
    for rule in rules:
        if not _inbound(rule) or str(get(rule, "access", "")).lower() != "allow":
            continue
        sources = _prefixes(rule, "sourceAddressPrefix", "sourceAddressPrefixes")
        if not sources and not items(get(rule, "sourceApplicationSecurityGroups")):
            sources = ["*"]
        public = [s for s in sources if _may_be_public(s, allowed)]
        if public:
            yield Violation(f"Remove or narrow the inbound Allow rule {show(get(rule, 'name'))} of {who}: its source "
                            f"{names(public)} includes addresses outside the VNet (the Internet); the private-endpoint "
                            f"subnet admits only {names(sorted(cfg.strings('allowedInboundSources')), 'and')} and "
                            f"private ranges.", nsg.urn)
    deny_all = [r for r in rules if str(get(r, "direction", "")).lower() == "inbound"
                and str(get(r, "access", "")).lower() == "deny"
                and any(s.lower() in ANY_SOURCE for s in _prefixes(r, "sourceAddressPrefix", "sourceAddressPrefixes"))
                and str(get(r, "protocol", "")).lower() in ("*", "any")
                and any(p in ("*", "0-65535") for p in _prefixes(r, "destinationPortRange", "destinationPortRanges"))
                and any(d.lower() in ("*", "any", "0.0.0.0/0", "virtualnetwork")
                        for d in _prefixes(r, "destinationAddressPrefix", "destinationAddressPrefixes"))
                and (number(get(r, "priority")) or 65500) <= 4096]
    if not deny_all:
        yield Violation(f"Add an inbound Deny rule to {who} with source '*' (any, the Internet included), protocol "
                        f"'*', destination '*' and ports '*', after the reviewed Allow rules (priority 4096): Azure's "
                        f"own AllowVnetInBound (65000) would otherwise admit every port from the VNet, peered networks "
                        f"and on-premises.", nsg.urn)


def _subnet_nsg(stack: Stack, cfg: Config) -> Iterator[Violation]:
    definitions: dict[str, list[SubnetDefinition]] = {}
    for definition in subnet_definitions(stack):
        definitions.setdefault(definition.id, []).append(definition)
    nsgs = stack.by_id(NETWORK_SECURITY_GROUP)
    approved_nsgs = {norm_id(i) for i in cfg.strings("approvedNsgIds")}
    hosting: dict[str, list[str]] = {}
    for endpoint, _ in guarded_endpoints(stack):
        hosting.setdefault(norm_id(get(endpoint.props, "subnet.id")), []).append(endpoint.name)
    checked: set[str] = set()
    for subnet_id, endpoints in hosting.items():
        for definition in definitions.get(subnet_id, []):
            pes = names(endpoints)
            nsg_id = norm_id(get(definition.props, "networkSecurityGroup.id"))
            if not nsg_id:
                yield Violation(f"Attach a network security group to {definition.who}, which hosts the private "
                                f"endpoint(s) {pes}: set networkSecurityGroup.id to an NSG that denies inbound from "
                                f"the Internet and from any source.", definition.owner.urn)
            elif nsg_id in approved_nsgs:
                pass
            elif nsg_id not in nsgs:
                yield Violation(f"Attach an NSG of this stack to {definition.who} (it names "
                                f"{show(get(definition.props, 'networkSecurityGroup.id'))}), or list that NSG in "
                                f"approvedNsgIds after review: the pack cannot verify rules it does not see.",
                                definition.owner.urn)
            elif nsg_id not in checked:
                checked.add(nsg_id)
                yield from _check_nsg(nsgs[nsg_id], nsg_rules(stack, nsgs[nsg_id]), cfg)
            policies = get(definition.props, "privateEndpointNetworkPolicies")
            if policies not in NSG_POLICIES:
                yield Violation(f"Set privateEndpointNetworkPolicies to 'Enabled' on {definition.who} (it is "
                                f"{show(policies)}; Azure's default is 'Disabled'): without it the subnet's NSG does "
                                f"not apply to the private endpoint(s) {pes}.", definition.owner.urn)


ENDPOINT_SUBNET_NSG = stack_policy(
    PolicyMeta(
        name="aoai-endpoint-subnet-nsg", control="network", concern=CONCERN, kind="stack",
        display_name="The endpoint subnet has an NSG that denies the Internet and any source",
        severity=Severity.HIGH, controls=NETWORK_ISOLATION,
        remediation="Attach the stack's NSG to the private-endpoint subnet with privateEndpointNetworkPolicies "
                    "'Enabled'; allow inbound only from VirtualNetwork (or private ranges) on 443 and end with a "
                    "Deny rule from '*' on every port and protocol.",
        checkov=("CKV2_AZURE_31",), azure_policy=("e71308d3…",),
        psrule=("Azure.VNET.UseNSGs", "Azure.NSG.AnyInboundSource")),
    "The subnet of every private endpoint to an account or vault must have an NSG of this stack that denies inbound "
    "from the Internet and from any source, with endpoint network policies enabled.",
    {"allowedInboundSources": string_list("Service tags an inbound Allow rule may name besides private ranges.",
                                          ["VirtualNetwork", "AzureLoadBalancer"]),
     "approvedNsgIds": string_list("NSG ids outside this stack (e.g. a hub's, reviewed there) accepted as is.", [])},
    _subnet_nsg)


# --- aoai-no-network-rules ----------------------------------------------------------------------------------------

def _network_rules(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(args.resource_type, args.name)
    acls = get(args.props, "properties.networkAcls")
    for key, field, allowed_key, what in (
            ("ipRules", "value", "allowedIpRules", "public IP ranges"),
            ("virtualNetworkRules", "id", "allowedVirtualNetworkSubnetIds", "subnets reaching it over a service "
                                                                             "endpoint")):
        rules = get(acls, key)
        if rules is None:
            continue
        if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Sequence):
            yield f"Set properties.networkAcls.{key} on {who} to an empty list (it is {show(rules)})."
            continue
        allowed = {norm_id(a) for a in cfg.strings(allowed_key)}
        extra = [get(r, field, r) for r in rules if norm_id(get(r, field, r)) not in allowed]
        if extra:
            yield (f"Remove {names(extra)} from properties.networkAcls.{key} on {who}: {what} bypass the private "
                   f"endpoint; the service is reached through its endpoint only.")


NO_NETWORK_RULES = resource_policy(
    PolicyMeta(
        name="aoai-no-network-rules", control="network", concern=CONCERN,
        display_name="No IP or virtual network rules on the account or vault", severity=Severity.HIGH,
        controls=NETWORK_ISOLATION,
        remediation="Leave networkAcls.ipRules and networkAcls.virtualNetworkRules empty on the account and the "
                    "vault; reach both through their private endpoints."),
    "Azure OpenAI accounts and Key Vaults must have no IP rules and no virtual network rules.",
    [ACCOUNT, VAULT],
    {"allowedIpRules": string_list("IP ranges reviewed as allowed (none by default).", []),
     "allowedVirtualNetworkSubnetIds": string_list("Subnet ids reviewed as allowed (none by default).", [])},
    _network_rules)


# --- aoai-no-vnet-peering -----------------------------------------------------------------------------------------

def _peering(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(args.resource_type, args.name)
    allowed = {norm_id(v) for v in cfg.strings("allowedRemoteVnetIds")}
    if args.resource_type == VIRTUAL_NETWORK:
        peerings = get_or_unknown(args.props, "virtualNetworkPeerings")
        if peerings is UNKNOWN or peerings is None:
            return
        remotes = [get_or_unknown(p, "remoteVirtualNetwork.id") for p in items(peerings)]
    else:
        remotes = [get_or_unknown(args.props, "remoteVirtualNetwork.id")]
    for remote in remotes:
        if remote is UNKNOWN:
            yield (f"Remove the peering of {who} to a VNet whose id is computed during the update, or name a VNet "
                   f"listed in allowedRemoteVnetIds by its id: an unlisted peering joins this stack's network to "
                   f"another.")
        elif norm_id(remote) not in allowed:
            yield (f"Remove the peering of {who} to {show(remote)}: peering joins this stack's private network to "
                   f"another (dev with prod, a partner's), and every host there reaches the private endpoints; list "
                   f"a reviewed hub in allowedRemoteVnetIds.")


NO_VNET_PEERING = resource_policy(
    PolicyMeta(
        name="aoai-no-vnet-peering", control="network", concern=CONCERN,
        display_name="No VNet peering unless listed", severity=Severity.HIGH, controls=NETWORK_ISOLATION,
        remediation="Do not peer the stack's VNets; connect a reviewed hub by listing its VNet id in "
                    "allowedRemoteVnetIds."),
    "VNets of this stack must not peer with a VNet that is not listed in allowedRemoteVnetIds.",
    [VIRTUAL_NETWORK, VIRTUAL_NETWORK_PEERING],
    {"allowedRemoteVnetIds": string_list("Ids of VNets (e.g. the hub) this stack's VNets may peer with.", [])},
    _peering)

POLICIES = [PRIVATE_ENDPOINT_PLACEMENT, ENDPOINT_SUBNET_NSG, NO_NETWORK_RULES, NO_VNET_PEERING]
