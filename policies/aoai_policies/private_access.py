"""Private endpoint wiring: every account and vault has an endpoint to it, with the right group id and DNS zones.

A private endpoint that exists but is registered in the wrong zone (or none) leaves clients resolving the public
address, which the firewall then refuses: the wiring matters as much as the endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pulumi_policy import PolicyResource, Severity

from .catalog import ACCOUNT_ZONES, AI_SERVICES_ZONES, VAULT_ZONES
from .common import (
    Config,
    Stack,
    Violation,
    get,
    items,
    names,
    norm_id,
    resource_group_name,
    resource_id,
    same,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import NETWORK_ISOLATION, PolicyMeta
from .tokens import ACCOUNT, PRIVATE_DNS_ZONE_GROUP, PRIVATE_ENDPOINT, VAULT

CONCERN = "private-access"


def endpoints_to(target_id: str, endpoints: Sequence[PolicyResource]) -> list[tuple[PolicyResource, list[str]]]:
    """Private endpoints with an (auto-approved) connection to `target_id`, each with that connection's group ids."""
    found = []
    for endpoint in endpoints:
        for connection in items(get(endpoint.props, "privateLinkServiceConnections")):
            if norm_id(get(connection, "privateLinkServiceId")) == target_id:
                found.append((endpoint, [str(g) for g in items(get(connection, "groupIds"))]))
    return found


def zone_groups_of(endpoint: PolicyResource, groups: Sequence[PolicyResource]) -> list[PolicyResource]:
    """The DNS zone groups of an endpoint: its child by ARM id, by (privateEndpointName, resourceGroupName) as in
    the group's inputs, or by Pulumi parent."""
    endpoint_id = resource_id(endpoint)
    endpoint_name = get(endpoint.props, "privateEndpointName") or get(endpoint.props, "name")
    endpoint_group = get(endpoint.props, "resourceGroupName") or resource_group_name(endpoint_id)
    found = []
    for group in groups:
        by_id = bool(endpoint_id) and resource_id(group).startswith(f"{endpoint_id}/privatednszonegroups/")
        by_name = (same(get(group.props, "privateEndpointName"), endpoint_name)
                   and same(get(group.props, "resourceGroupName"), endpoint_group))
        by_parent = group.parent is not None and group.parent.urn == endpoint.urn
        if by_id or by_name or by_parent:
            found.append(group)
    return found


def zone_names(group: PolicyResource) -> set[str]:
    """The private DNS zone names a zone group registers in, from the zone ids' last segment."""
    zones = set()
    for config in items(get(group.props, "privateDnsZoneConfigs")):
        zone_id = norm_id(get(config, "privateDnsZoneId"))
        if "/privatednszones/" in zone_id:
            zones.add(zone_id.rsplit("/privatednszones/", 1)[1])
    return zones


def check_private_access(stack: Stack, cfg: Config, target_type: str, group_id: str,
                         zones_for: dict[str, list[str]]) -> Iterator[Violation]:
    """Violations for every target of `target_type`: no endpoint, wrong group id, unapproved subnet, missing zones.
    `zones_for` maps a target's kind ('' for any) to the extra zones it needs."""
    endpoints = stack.of_type(PRIVATE_ENDPOINT)
    groups = stack.of_type(PRIVATE_DNS_ZONE_GROUP)
    subnets = [norm_id(s) for s in cfg.strings("approvedSubnetIds")]
    prefixes = [norm_id(p) for p in cfg.strings("approvedVnetIdPrefixes")]
    for target in stack.of_type(target_type):
        who = subject(target_type, target.name)
        required = {z.lower() for z in zones_for.get("", [])}
        required |= {z.lower() for z in zones_for.get(str(get(target.props, "kind", "")), [])}
        linked = endpoints_to(resource_id(target), endpoints)
        if not linked:
            yield Violation(f"Create a private endpoint for {who}: privateLinkServiceConnections[]."
                            f"privateLinkServiceId set to its id and groupIds ['{group_id}'], in the private-endpoint "
                            f"subnet.", target.urn)
            continue
        for endpoint, group_ids in linked:
            pe = subject(PRIVATE_ENDPOINT, endpoint.name)
            if group_ids != [group_id]:
                yield Violation(f"Set groupIds to ['{group_id}'] on the connection of {pe} to {who} (it is "
                                f"{show(group_ids)}).", endpoint.urn)
            subnet = norm_id(get(endpoint.props, "subnet.id"))
            if subnets and subnet not in subnets:
                yield Violation(f"Place {pe} in one of the approved subnets {names(cfg.strings('approvedSubnetIds'))} "
                                f"(it is in {show(get(endpoint.props, 'subnet.id'))}).", endpoint.urn)
            if prefixes and not any(subnet.startswith(p) for p in prefixes):
                approved = names(cfg.strings("approvedVnetIdPrefixes"))
                yield Violation(f"Place {pe} in a subnet of an approved VNet ({approved}; it is in "
                                f"{show(get(endpoint.props, 'subnet.id'))}).", endpoint.urn)
            zone_groups = zone_groups_of(endpoint, groups)
            if not zone_groups:
                yield Violation(f"Add a PrivateDnsZoneGroup to {pe} registering it in {names(sorted(required))}, so "
                                f"{who}'s name resolves to the private IP inside the VNet.", endpoint.urn)
                continue
            present = set().union(*(zone_names(g) for g in zone_groups))
            missing = sorted(required - present)
            if missing:
                yield Violation(f"Add the private DNS zone(s) {names(missing)} to the zone group of {pe} (it "
                                f"registers {names(sorted(present))}): clients of {who} would resolve its public "
                                f"address.", endpoint.urn)


def _accounts(stack: Stack, cfg: Config) -> Iterator[Violation]:
    zones = {"": cfg.strings("accountZones"), "AIServices": cfg.strings("aiServicesZones")}
    yield from check_private_access(stack, cfg, ACCOUNT, "account", zones)


def _vaults(stack: Stack, cfg: Config) -> Iterator[Violation]:
    yield from check_private_access(stack, cfg, VAULT, "vault", {"": cfg.strings("vaultZones")})


_PLACEMENT = {
    "approvedSubnetIds": string_list("When not empty, endpoints must be in one of these subnet ids.", []),
    "approvedVnetIdPrefixes": string_list("When not empty, endpoint subnet ids must start with one of these (e.g. a "
                                          "spoke VNet id).", []),
}

ACCOUNT_PRIVATE_ENDPOINT = stack_policy(
    PolicyMeta(
        name="aoai-account-private-endpoint", control="network", concern=CONCERN, kind="stack",
        display_name="Azure OpenAI account has a private endpoint registered in its DNS zones",
        severity=Severity.HIGH, controls=NETWORK_ISOLATION,
        remediation="Create a private endpoint with a connection to the account (groupIds ['account']) and a "
                    "PrivateDnsZoneGroup naming privatelink.openai.azure.com and "
                    "privatelink.cognitiveservices.azure.com (plus privatelink.services.ai.azure.com for "
                    "AIServices; .azure.us zones in US Government).",
        azure_policy=("d6759c02…", "db630ad5…"), psrule=("Azure.AI.PrivateEndpoints",)),
    "Every Azure OpenAI account must have a private endpoint with group 'account' and a DNS zone group naming its "
    "private zones.",
    {"accountZones": string_list("Private DNS zones every account endpoint must register in.", ACCOUNT_ZONES),
     "aiServicesZones": string_list("Extra zones for kind AIServices.", AI_SERVICES_ZONES),
     **_PLACEMENT},
    _accounts)

VAULT_PRIVATE_ENDPOINT = stack_policy(
    PolicyMeta(
        name="aoai-vault-private-endpoint", control="network", concern=CONCERN, kind="stack",
        display_name="Key Vault has a private endpoint registered in its DNS zone", severity=Severity.HIGH,
        controls=NETWORK_ISOLATION,
        remediation="Create a private endpoint with a connection to the vault (groupIds ['vault']) and a "
                    "PrivateDnsZoneGroup naming privatelink.vaultcore.azure.net "
                    "(privatelink.vaultcore.usgovcloudapi.net in US Government).",
        checkov=("CKV2_AZURE_32",), azure_policy=("a6abeaec…",)),
    "Every Key Vault must have a private endpoint with group 'vault' and a DNS zone group naming its private zone.",
    {"vaultZones": string_list("Private DNS zones every vault endpoint must register in.", VAULT_ZONES),
     **_PLACEMENT},
    _vaults)

POLICIES = [ACCOUNT_PRIVATE_ENDPOINT, VAULT_PRIVATE_ENDPOINT]
