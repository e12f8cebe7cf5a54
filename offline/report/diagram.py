"""The architecture diagram: a Mermaid flowchart drawn from the resource graph."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from ..engine import Graph, Resource
from ..values import display, get_path
from .evidence import (
    ACCOUNT,
    ACTION_GROUP,
    ALERT,
    DEPLOYMENT,
    DIAGNOSTIC,
    ENDPOINT,
    IDENTITY,
    KEY,
    LABELS,
    LINK,
    LOCK,
    NSG,
    RAI_POLICY,
    RESOURCE_GROUP,
    ROLE,
    SUBNET,
    VAULT,
    VNET,
    WORKSPACE,
    ZONE,
    ZONE_GROUP,
    azure_name,
    role_of,
)

# --- architecture diagram -----------------------------------------------------------------------------------------

NODE_TYPES = (ACCOUNT, VAULT, KEY, IDENTITY, ENDPOINT, ZONE, WORKSPACE, ACTION_GROUP, RAI_POLICY)


class Diagram:
    """A Mermaid flowchart of the graph: one subgraph per top-level component (a region, the shared DNS), the VNet
    and subnet as nested subgraphs holding the private endpoints, and edges from the property dependencies."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.by_urn = {r.urn: r for r in graph.resources}
        self.ids: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.edges: set[tuple[str, str, str]] = set()
        self.locked: set[str] = set()

    def node(self, key: str, label: str) -> str:
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids) + 1}"
        self.labels[self.ids[key]] = label
        return self.ids[key]

    def top(self, resource: Resource) -> Resource:
        """The top-level component a resource belongs to (its region, or the shared DNS)."""
        current = resource
        while current.parent in self.by_urn:
            current = self.by_urn[current.parent]
        return current

    def render(self) -> str:
        graph = self.graph
        ordered = sorted(graph.resources, key=lambda r: r.urn)
        for lock in (r for r in ordered if r.type == LOCK):
            self.locked |= set(lock.property_dependencies.get("scope", ()))
        node_of: dict[str, str] = {}
        for resource in ordered:
            if resource.type in NODE_TYPES:
                node_of[resource.urn] = self.node(resource.urn, self._label(resource))
        deployments = defaultdict(list)
        for resource in ordered:
            if resource.type == DEPLOYMENT:
                deployments[resource.parent].append(resource)
        for parent, items in deployments.items():
            lines = [f"{display(get_path(d.inputs, 'properties.model.name'))} "
                     f"{display(get_path(d.inputs, 'sku.name'))} × {display(get_path(d.inputs, 'sku.capacity'))}"
                     for d in sorted(items, key=lambda d: d.name)]
            group = self.node(f"deployments:{parent}", f"Model deployments ({len(items)})<br/>" + "<br/>".join(lines))
            for d in items:
                node_of[d.urn] = group
        access = defaultdict(list)
        for resource in ordered:
            if resource.type == ROLE and not any(self.by_urn.get(u, resource).type == IDENTITY
                                                 for u in resource.property_dependencies.get("principalId", ())):
                access[resource.parent].append(resource)
        for parent, items in access.items():
            lines = sorted(f"{role_of(r)} · {display(r.inputs.get('principalType'))}" for r in items)
            group = self.node(f"access:{parent}", f"Role assignments ({len(items)})<br/>" + "<br/>".join(lines))
            for r in items:
                node_of[r.urn] = group
        alerts = defaultdict(list)
        for resource in ordered:
            if resource.type == ALERT:
                alerts[resource.parent].append(resource)
        for parent, items in alerts.items():
            lines = sorted(display(get_path(a.inputs, "criteria.allOf")[0].get("metricName"))
                           if get_path(a.inputs, "criteria.allOf") else a.name for a in items)
            group = self.node(f"alerts:{parent}", f"Metric alerts ({len(items)})<br/>" + "<br/>".join(lines))
            for a in items:
                node_of[a.urn] = group
        for resource in ordered:
            self._edges(resource, node_of)
        return self._text(node_of)

    def _label(self, resource: Resource) -> str:
        inputs = resource.inputs
        details: list[str] = []
        if resource.type == ACCOUNT:
            details = [f"{display(inputs.get('kind'))} {display(get_path(inputs, 'sku.name'))}",
                       f"public access {display(get_path(inputs, 'properties.publicNetworkAccess'))}",
                       "local auth " + ("off" if get_path(inputs, "properties.disableLocalAuth") is True else "on"),
                       f"encryption {display(get_path(inputs, 'properties.encryption.keySource') or 'Microsoft')}"]
        elif resource.type == VAULT:
            details = [f"{display(get_path(inputs, 'properties.sku.name'))}, purge protection "
                       + ("on" if get_path(inputs, "properties.enablePurgeProtection") else "off"),
                       f"public access {display(get_path(inputs, 'properties.publicNetworkAccess'))}"]
        elif resource.type == KEY:
            details = [f"{display(get_path(inputs, 'properties.kty'))} "
                       f"{display(get_path(inputs, 'properties.keySize'))}"]
        elif resource.type == ENDPOINT:
            groups = get_path((inputs.get("privateLinkServiceConnections") or [{}])[0], "groupIds")
            details = [f"group {display(groups)}"]
        elif resource.type == WORKSPACE:
            details = [f"retention {display(inputs.get('retentionInDays'))} days"]
        elif resource.type == RAI_POLICY:
            thresholds = sorted({str(f.get("severityThreshold")) for f in
                                 get_path(inputs, "properties.contentFilters") or []
                                 if isinstance(f, Mapping) and f.get("severityThreshold")})
            details = [f"{display(get_path(inputs, 'properties.mode'))}, threshold {'/'.join(thresholds)}"]
        lock = " 🔒" if resource.protect or resource.urn in self.locked else ""
        return f"{LABELS[resource.type]} {azure_name(resource)}{lock}" + "".join(f"<br/>{d}" for d in details)

    def _edges(self, resource: Resource, node_of: Mapping[str, str]) -> None:
        deps = resource.property_dependencies
        me = node_of.get(resource.urn)

        def link(source: str | None, keys: str, label: str, reverse: bool = False) -> None:
            for urn in deps.get(keys, ()):
                target = node_of.get(urn)
                if source and target and source != target:
                    self.edges.add((target, source, label) if reverse else (source, target, label))

        t = resource.type
        if t == ENDPOINT:
            link(me, "privateLinkServiceConnections", "private link")
        elif t == ZONE_GROUP:
            for urn in deps.get("privateEndpointName", ()):
                link(node_of.get(urn), "privateDnsZoneConfigs", "DNS record")
        elif t == DEPLOYMENT:
            link(me, "accountName", "deployed on")
            link(me, "properties", "filtered by")
        elif t == ACCOUNT:
            link(me, "identity", "runs as")
            for urn in deps.get("properties", ()):
                if self.by_urn.get(urn) is not None and self.by_urn[urn].type == KEY and urn in node_of:
                    self.edges.add((me or "", node_of[urn], "encrypted with"))
        elif t == KEY:
            link(me, "vaultName", "kept in")
        elif t == ROLE:
            principals = [node_of[u] for u in deps.get("principalId", ()) if u in node_of]
            source = principals[0] if principals else me
            label = role_of(resource) if principals else "RBAC"
            link(source, "scope", label)
        elif t == DIAGNOSTIC:
            for urn in deps.get("resourceUri", ()):
                link(node_of.get(urn), "workspaceId", "diagnostic logs")
        elif t == ALERT:
            link(me, "scopes", "watches")
            link(me, "actions", "notifies")
        elif t == LINK:
            # One arrow from the zones' box to each VNet they are linked to, rather than one per zone and VNet.
            for urn in deps.get("privateZoneName", ()):
                zone = self.by_urn.get(urn)
                for vnet_urn in deps.get("virtualNetwork", ()):
                    if zone is not None and vnet_urn in self.by_urn:
                        self.edges.add((f"group:{self.top(zone).urn}", f"vnet:{vnet_urn}", "linked to"))

    def _text(self, node_of: Mapping[str, str]) -> str:
        graph = self.graph
        vnets = {r.urn: r for r in graph.resources if r.type == VNET}
        subnets = {r.urn: r for r in graph.resources if r.type == SUBNET}
        vnet_ids = {urn: f"v{i + 1}" for i, urn in enumerate(sorted(vnets))}
        subnet_ids = {urn: f"s{i + 1}" for i, urn in enumerate(sorted(subnets))}
        nsg_of = {urn: any(self.by_urn.get(d) is not None and self.by_urn[d].type == NSG
                           for d in s.property_dependencies.get("networkSecurityGroup", ()))
                  for urn, s in subnets.items()}
        subnet_of_vnet: dict[str, list[str]] = defaultdict(list)
        for urn, subnet in subnets.items():
            for parent_vnet in subnet.property_dependencies.get("virtualNetworkName", ()):
                subnet_of_vnet[parent_vnet].append(urn)
        endpoints_in: dict[str, list[str]] = defaultdict(list)
        placed: set[str] = set()
        for resource in graph.resources:
            if resource.type == ENDPOINT:
                for subnet_urn in resource.property_dependencies.get("subnet", ()):
                    if subnet_urn in subnets:
                        endpoints_in[subnet_urn].append(node_of[resource.urn])
                        placed.add(node_of[resource.urn])
        groups: dict[str, set[str]] = defaultdict(set)
        for urn, node in node_of.items():
            if node not in placed:
                groups[self.top(self.by_urn[urn]).urn].add(node)
        group_vnets: dict[str, list[str]] = defaultdict(list)
        for urn in vnets:
            group_vnets[self.top(vnets[urn]).urn].append(urn)

        lines = ["flowchart LR"]
        tops = sorted(set(groups) | set(group_vnets))
        group_ids = {f"group:{top}": f"g{index + 1}" for index, top in enumerate(tops)}
        for index, top in enumerate(tops):
            component = self.by_urn[top]
            title = f"{component.name} ({_location_of(self.graph, component, self)})"
            lines.append(f'  subgraph g{index + 1}["{_escape(title)}"]')
            lines.append("    direction TB")
            for vnet_urn in sorted(group_vnets.get(top, [])):
                vnet = vnets[vnet_urn]
                prefixes = display(get_path(vnet.inputs, "addressSpace.addressPrefixes"))
                lines.append(f'    subgraph {vnet_ids[vnet_urn]}["{_escape(f"VNet {azure_name(vnet)} {prefixes}")}"]')
                for subnet_urn in sorted(subnet_of_vnet.get(vnet_urn, [])):
                    subnet = subnets[subnet_urn]
                    title = (f"Subnet {azure_name(subnet)} {display(subnet.inputs.get('addressPrefix'))}"
                             + (" · NSG" if nsg_of[subnet_urn] else ""))
                    lines.append(f'      subgraph {subnet_ids[subnet_urn]}["{_escape(title)}"]')
                    for node in sorted(set(endpoints_in.get(subnet_urn, [])), key=_node_order):
                        lines.append(f'        {node}["{_escape(self.labels[node])}"]')
                    lines.append("      end")
                lines.append("    end")
            for node in sorted(groups.get(top, set()), key=_node_order):
                lines.append(f'    {node}["{_escape(self.labels[node])}"]')
            lines.append("  end")
        for source, target, label in sorted(self.edges):
            source = group_ids.get(source, source)
            if target.startswith("vnet:"):
                target = vnet_ids.get(target[5:], "")
            if source and target:
                lines.append(f'  {source} -->|"{_escape(label)}"| {target}')
        return "\n".join(lines)


def _node_order(node: str) -> int:
    return int(node[1:])


def _location_of(graph: Graph, component: Resource, diagram: Diagram) -> str:
    locations = Counter(display(r.inputs.get("location")) for r in graph.resources
                        if r.custom and r.type != RESOURCE_GROUP and diagram.top(r).urn == component.urn
                        and r.inputs.get("location") and r.inputs.get("location") != "global")
    return locations.most_common(1)[0][0] if locations else "global"


def _escape(text: str) -> str:
    """Mermaid labels are quoted: a quote inside becomes its entity; brackets and pipes are safe in quotes."""
    return text.replace('"', "#quot;")

