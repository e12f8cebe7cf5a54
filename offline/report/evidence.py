"""What the graph says a reviewer should see: each resource's Azure name, the settings that implement each control,
the runtime guardrails, the alerts as Azure will evaluate them, the hub's subnet and DNS zone ids, and the monthly
cost of provisioned capacity."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from settings import shapes

from ..engine import Graph, Resource
from ..render import role_names, short_id
from ..values import display, get_path, is_unknown

ACCOUNT = shapes.ACCOUNT
DEPLOYMENT = shapes.DEPLOYMENT
RAI_POLICY = shapes.RAI_POLICY
VAULT = shapes.VAULT
KEY = shapes.KEY
IDENTITY = shapes.USER_ASSIGNED_IDENTITY
ROLE = shapes.ROLE_ASSIGNMENT
LOCK = shapes.LOCK
ENDPOINT = shapes.PRIVATE_ENDPOINT
ZONE_GROUP = shapes.PRIVATE_DNS_ZONE_GROUP
VNET = shapes.VIRTUAL_NETWORK
SUBNET = shapes.SUBNET
NSG = shapes.NETWORK_SECURITY_GROUP
ZONE = shapes.PRIVATE_ZONE
LINK = shapes.VIRTUAL_NETWORK_LINK
WORKSPACE = shapes.WORKSPACE
DIAGNOSTIC = shapes.DIAGNOSTIC_SETTING
ALERT = shapes.METRIC_ALERT
ACTION_GROUP = shapes.ACTION_GROUP
RESOURCE_GROUP = shapes.RESOURCE_GROUP
POLICY_ASSIGNMENT = shapes.POLICY_ASSIGNMENT
POLICY_EXEMPTION = shapes.POLICY_EXEMPTION
ACTIVITY_LOG = shapes.SUBSCRIPTION_DIAGNOSTIC_SETTING
ACTIVITY_ALERT = shapes.ACTIVITY_LOG_ALERT
LOG_ALERT = shapes.SCHEDULED_QUERY_RULE
SYSTEM_TOPIC = shapes.SYSTEM_TOPIC
EVENT_SUBSCRIPTION = shapes.SYSTEM_TOPIC_EVENT_SUBSCRIPTION
DEFENDER = shapes.DEFENDER_PRICING

# The input that holds each type's Azure name (what a reviewer finds in the portal).
NAME_KEYS = {token: shapes.shape(token).name_input for token in (
    ACCOUNT, DEPLOYMENT, RAI_POLICY, VAULT, KEY, IDENTITY, ENDPOINT, VNET, SUBNET, NSG, ZONE, LINK, WORKSPACE, ALERT,
    ACTION_GROUP, RESOURCE_GROUP, LOCK, POLICY_ASSIGNMENT, POLICY_EXEMPTION, ACTIVITY_LOG, ACTIVITY_ALERT, LOG_ALERT,
    SYSTEM_TOPIC, EVENT_SUBSCRIPTION, DEFENDER)}  # not role assignments and diagnostic settings: their names say little
LABELS = {
    ACCOUNT: "Azure OpenAI account", DEPLOYMENT: "Model deployment", RAI_POLICY: "Content filter", VAULT: "Key Vault",
    KEY: "Key", IDENTITY: "Managed identity", ROLE: "Role assignment", LOCK: "Lock", ENDPOINT: "Private endpoint",
    VNET: "VNet", SUBNET: "Subnet", NSG: "NSG", ZONE: "Private DNS zone", LINK: "VNet link", WORKSPACE: "Log Analytics",
    DIAGNOSTIC: "Diagnostic setting", ALERT: "Metric alert", ACTION_GROUP: "Action group",
    RESOURCE_GROUP: "Resource group", POLICY_ASSIGNMENT: "Policy assignment", POLICY_EXEMPTION: "Policy exemption",
    ACTIVITY_LOG: "Activity Log setting", ACTIVITY_ALERT: "Activity Log alert", LOG_ALERT: "Log alert",
    SYSTEM_TOPIC: "Event Grid system topic", EVENT_SUBSCRIPTION: "Event Grid subscription", DEFENDER: "Defender plan",
}


def cell(text: Any) -> str:
    """A value for a Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- reading the graph -------------------------------------------------------------------------------------------

# Child resources are named within their parent: `kv-aoai-prod-swc/aoai-cmk` says which key.
PARENT_NAME_KEYS = {token: shapes.shape(token).parent_inputs[-1]
                    for token in (KEY, SUBNET, DEPLOYMENT, EVENT_SUBSCRIPTION, RAI_POLICY, LINK)}


def azure_name(resource: Resource) -> str:
    """The resource's name in Azure (`parent/child` for child resources) when known, else its Pulumi name."""
    parts = [resource.inputs.get(PARENT_NAME_KEYS[resource.type]) if resource.type in PARENT_NAME_KEYS else "",
             resource.inputs.get(NAME_KEYS.get(resource.type, ""))]
    if any(not isinstance(part, str) or is_unknown(part) for part in parts):
        return resource.name
    return "/".join(part for part in parts if part)


def role_of(resource: Resource) -> str:
    """The built-in role a role assignment grants, by name."""
    role_id = resource.inputs.get("roleDefinitionId")
    if is_unknown(role_id) or not isinstance(role_id, str):
        return display(role_id)
    return role_names().get(role_id.rsplit("/", 1)[-1], role_id.rsplit("/", 1)[-1])


def short(value: Any) -> str:
    """An ARM id as `collection/name`, anything else as displayed."""
    return display(short_id(value))


def _by_type(graph: Graph, *types: str) -> list[Resource]:
    return sorted((r for r in graph.resources if r.type in types), key=lambda r: r.name)


def _dep_targets(graph: Graph, resource: Resource, key: str) -> list[Resource]:
    urns = set(resource.property_dependencies.get(key, ()))
    return [r for r in sorted(graph.resources, key=lambda r: r.urn) if r.urn in urns and r.custom]


def _linked(graph: Graph, resource: Resource, key: str) -> str:
    """What a property points at, e.g. "Key Vault kv-aoai-prod-swc", from its dependencies (else the value)."""
    targets = _dep_targets(graph, resource, key)
    named = ", ".join(f"{LABELS.get(t.type, t.type)} {azure_name(t)}" for t in targets)
    return named or short(resource.inputs.get(key))


Row = tuple[str, str, str]  # setting, value, resource
SettingsReader = Callable[[Graph], list[Row]]


def _rows(graph: Graph, type_: str, paths: Sequence[str]) -> list[Row]:
    rows = []
    for path in paths:  # setting by setting, so one setting's rows (one per region) stay together
        for resource in _by_type(graph, type_):
            value = get_path(resource.inputs, path)
            if value is not None:
                rows.append((f"{LABELS[type_]} · `{path}`", display(value), azure_name(resource)))
    return rows


def _network(graph: Graph) -> list[Row]:
    rows = _rows(graph, ACCOUNT, ["properties.publicNetworkAccess", "properties.networkAcls.defaultAction",
                                  "properties.networkAcls.bypass", "properties.networkAcls.ipRules",
                                  "properties.restrictOutboundNetworkAccess", "properties.allowedFqdnList",
                                  "properties.customSubDomainName"])
    rows += _rows(graph, VAULT, ["properties.publicNetworkAccess", "properties.networkAcls.defaultAction",
                                 "properties.networkAcls.bypass"])
    for endpoint in _by_type(graph, ENDPOINT):
        targets = _dep_targets(graph, endpoint, "privateLinkServiceConnections")
        groups = get_path((endpoint.inputs.get("privateLinkServiceConnections") or [{}])[0], "groupIds")
        target = ", ".join(azure_name(t) for t in targets) or short(get_path(
            (endpoint.inputs.get("privateLinkServiceConnections") or [{}])[0], "privateLinkServiceId"))
        rows.append((f"{LABELS[ENDPOINT]} · target (group id)", f"{target} ({display(groups)})", azure_name(endpoint)))
    for group in _by_type(graph, ZONE_GROUP):
        owners = _dep_targets(graph, group, "privateEndpointName")
        zones = [azure_name(z) for z in _dep_targets(graph, group, "privateDnsZoneConfigs")] or [
            short(get_path(c, "privateDnsZoneId")) for c in group.inputs.get("privateDnsZoneConfigs") or []]
        rows.append((f"{LABELS[ENDPOINT]} · DNS zones", ", ".join(zones),
                     azure_name(owners[0]) if owners else group.name))
    rows += _rows(graph, SUBNET, ["addressPrefix", "privateEndpointNetworkPolicies", "defaultOutboundAccess"])
    for nsg in _by_type(graph, NSG):
        rules = [f"{r.get('name')} ({r.get('access')} {r.get('direction')})"
                 for r in nsg.inputs.get("securityRules") or [] if isinstance(r, Mapping)]
        rows.append((f"{LABELS[NSG]} · `securityRules`", ", ".join(rules), azure_name(nsg)))
    rows += _rows(graph, LINK, ["registrationEnabled"])
    return rows


def _epoch_date(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC).date().isoformat()
    return display(value)


def _lifetime_action(action: Any) -> str:
    after, before = get_path(action, "trigger.timeAfterCreate"), get_path(action, "trigger.timeBeforeExpiry")
    when = f"{display(after)} after creation" if after else f"{display(before)} before expiry"
    return f"{display(get_path(action, 'action.type'))} {when}"


def _encryption(graph: Graph) -> list[Row]:
    rows = _rows(graph, ACCOUNT, ["properties.encryption.keySource",
                                  "properties.encryption.keyVaultProperties.keyName",
                                  "properties.encryption.keyVaultProperties.keyVersion",
                                  "properties.encryption.keyVaultProperties.keyVaultUri",
                                  "properties.encryption.keyVaultProperties.identityClientId", "identity.type"])
    rows += _rows(graph, KEY, ["properties.kty", "properties.keySize", "properties.keyOps",
                               "properties.rotationPolicy.attributes.expiryTime"])
    for key in _by_type(graph, KEY):
        rows.append((f"{LABELS[KEY]} · `properties.attributes.expires`",
                     _epoch_date(get_path(key.inputs, "properties.attributes.expires")), azure_name(key)))
        actions = [_lifetime_action(a) for a in get_path(key.inputs, "properties.rotationPolicy.lifetimeActions") or []]
        if actions:
            rows.append((f"{LABELS[KEY]} · rotation policy", "; ".join(actions), azure_name(key)))
    rows += _rows(graph, VAULT, ["properties.sku.name", "properties.enableRbacAuthorization"])
    for role in _by_type(graph, ROLE):
        principals = _dep_targets(graph, role, "principalId")
        if any(p.type == IDENTITY for p in principals):
            rows.append((f"{LABELS[ROLE]} · key access",
                         f"{role_of(role)} for {', '.join(azure_name(p) for p in principals)} on "
                         f"{_linked(graph, role, 'scope')}", role.name))
    return rows


def _identity(graph: Graph) -> list[Row]:
    rows = _rows(graph, ACCOUNT, ["properties.disableLocalAuth", "identity.type"])
    rows += _rows(graph, VAULT, ["properties.enableRbacAuthorization"])
    rows += _rows(graph, WORKSPACE, ["features.disableLocalAuth",
                                     "features.enableLogAccessUsingOnlyResourcePermissions"])
    for role in _by_type(graph, ROLE):
        where = _linked(graph, role, "scope")
        principal = role.inputs.get("principalId")
        identities = _dep_targets(graph, role, "principalId")
        who = ", ".join(azure_name(i) for i in identities) or display(principal)
        rows.append((f"{LABELS[ROLE]} · {display(role.inputs.get('principalType'))} {who}",
                     f"{role_of(role)} on {where}", role.name))
    return rows


def _logging(graph: Graph) -> list[Row]:
    rows = []
    for setting in _by_type(graph, DIAGNOSTIC):
        workspace = _dep_targets(graph, setting, "workspaceId")
        logs = [log.get("category") or log.get("categoryGroup") for log in setting.inputs.get("logs") or []
                if isinstance(log, Mapping) and log.get("enabled", True)]
        metrics = [m.get("category") for m in setting.inputs.get("metrics") or [] if isinstance(m, Mapping)]
        target = _linked(graph, setting, "resourceUri")
        destination = ", ".join(azure_name(w) for w in workspace) or short(setting.inputs.get("workspaceId"))
        rows.append((f"{LABELS[DIAGNOSTIC]} · {target}",
                     f"logs {', '.join(map(str, logs)) or 'none'}; metrics {', '.join(map(str, metrics)) or 'none'}"
                     f" → {destination}", setting.name))
    rows += _rows(graph, WORKSPACE, ["retentionInDays", "sku.name"])
    for alert in _by_type(graph, ALERT):
        criteria = get_path(alert.inputs, "criteria.allOf") or [{}]
        first = criteria[0] if criteria else {}
        rows.append((f"{LABELS[ALERT]} · {display(first.get('metricName'))}",
                     f"{display(first.get('timeAggregation'))} {display(first.get('operator'))} "
                     f"{display(first.get('threshold'))} over {display(alert.inputs.get('windowSize'))}, "
                     f"severity {display(alert.inputs.get('severity'))}", azure_name(alert)))
    for group in _by_type(graph, ACTION_GROUP):
        rows.append((f"{LABELS[ACTION_GROUP]} · e-mail receivers", str(len(group.inputs.get("emailReceivers") or [])),
                     azure_name(group)))
    return rows


def _residency(graph: Graph) -> list[Row]:
    rows = []
    locations = {display(r.inputs["location"]) for r in graph.resources if r.custom and "location" in r.inputs}
    for location in sorted(locations):
        counts = Counter(LABELS.get(r.type, r.type) for r in graph.resources
                         if r.custom and display(r.inputs.get("location")) == location)
        rows.append(("`location`", location, ", ".join(f"{n} × {label}" for label, n in sorted(counts.items()))))
    for deployment in _by_type(graph, DEPLOYMENT):
        rows.append((f"{LABELS[DEPLOYMENT]} · `sku.name` (capacity)",
                     f"{display(get_path(deployment.inputs, 'sku.name'))} "
                     f"({display(get_path(deployment.inputs, 'sku.capacity'))})", azure_name(deployment)))
    return rows


def _protection(graph: Graph) -> list[Row]:
    rows = [("Pulumi `protect`", "true", f"{LABELS.get(r.type, r.type)} {azure_name(r)}")
            for r in sorted(graph.resources, key=lambda r: r.name) if r.protect]
    for lock in _by_type(graph, LOCK):
        where = _linked(graph, lock, "scope")
        rows.append((f"{LABELS[LOCK]} · `level`", display(lock.inputs.get("level")), where))
    rows += _rows(graph, VAULT, ["properties.enableSoftDelete", "properties.softDeleteRetentionInDays",
                                 "properties.enablePurgeProtection"])
    return rows


def _content(graph: Graph) -> list[Row]:
    rows = _rows(graph, RAI_POLICY, ["properties.basePolicyName", "properties.mode"])
    for policy in _by_type(graph, RAI_POLICY):
        for f in get_path(policy.inputs, "properties.contentFilters") or []:
            if not isinstance(f, Mapping):
                continue
            state = ("blocking" if f.get("blocking") else "annotating") if f.get("enabled") else "off"
            threshold = f" at {f['severityThreshold']}" if f.get("severityThreshold") else ""
            rows.append((f"{LABELS[RAI_POLICY]} · {f.get('name')} ({f.get('source')})", f"{state}{threshold}",
                         azure_name(policy)))
    for deployment in _by_type(graph, DEPLOYMENT):
        rows.append((f"{LABELS[DEPLOYMENT]} · `properties.raiPolicyName`",
                     display(get_path(deployment.inputs, "properties.raiPolicyName")), azure_name(deployment)))
    return rows


def _runtime(graph: Graph) -> list[Row]:
    rows = []
    for setting in _by_type(graph, ACTIVITY_LOG):
        logs = [log.get("category") for log in setting.inputs.get("logs") or []
                if isinstance(log, Mapping) and log.get("enabled")]
        rows.append((f"{LABELS[ACTIVITY_LOG]} · subscription Activity Log",
                     f"{', '.join(map(str, logs))} → {_linked(graph, setting, 'workspaceId')}", azure_name(setting)))
    for alert in _by_type(graph, ACTIVITY_ALERT):
        conditions = get_path(alert.inputs, "condition.allOf") or []
        operations = [str(leaf.get("equals")) for c in conditions if isinstance(c, Mapping)
                      for leaf in (c.get("anyOf") or [c]) if isinstance(leaf, Mapping)
                      and leaf.get("field") == "operationName"]
        rows.append((f"{LABELS[ACTIVITY_ALERT]} · operations", ", ".join(operations) + " → "
                     + _linked(graph, alert, "actions"), azure_name(alert)))
    for rule in _by_type(graph, LOG_ALERT):
        rows.append((f"{LABELS[LOG_ALERT]} · vault audit events",
                     f"every {display(rule.inputs.get('evaluationFrequency'))}, severity "
                     f"{display(rule.inputs.get('severity'))} → {_linked(graph, rule, 'actions')}", azure_name(rule)))
    for subscription in _by_type(graph, EVENT_SUBSCRIPTION):
        events = display(get_path(subscription.inputs, "filter.includedEventTypes"))
        rows.append((f"{LABELS[EVENT_SUBSCRIPTION]} · key expiry",
                     f"{events} → {display(get_path(subscription.inputs, 'destination.endpointType'))} "
                     f"{display(get_path(subscription.inputs, 'destination.severity'))} → "
                     f"{_linked(graph, subscription, 'destination')}", azure_name(subscription)))
    for plan in _by_type(graph, DEFENDER):
        rows.append((f"{LABELS[DEFENDER]} · `pricingTier`", display(plan.inputs.get("pricingTier")),
                     f"{azure_name(plan)} on the subscription"
                     + (" (kept on destroy)" if plan.retain_on_delete else "")))
    return rows


def runtime_enforcement(graph: Graph) -> list[str]:
    """Which control each built-in policy assignment enforces, with which effect, where; the exemptions and until
    when; and the pack's controls no built-in definition can mirror."""
    from settings.policy_catalog import load_catalog  # offline may read the program's data; the pack may not

    catalog = load_catalog()
    out = ["**Azure Policy assignments**", ""]
    assignments = _by_type(graph, POLICY_ASSIGNMENT)
    if not assignments:
        out += ["No policy assignment: `guardrails.mode` is off, so nothing holds the controls after deployment.", ""]
    else:
        merged: dict[tuple[str, str, str, str], list[str]] = {}
        for a in assignments:
            guid = display(a.inputs.get("policyDefinitionId")).rsplit("/", 1)[-1]
            definition = catalog.definitions.get(guid)
            name = definition.display_name if definition else guid
            effect_key = definition.effect_parameter if definition else "effect"
            effect = display(get_path(a.inputs, f"parameters.{effect_key}.value"))
            control = display(get_path(a.inputs, "metadata.aoaiControl"))
            mirrors = ", ".join(f"`{m}`" for m in get_path(a.inputs, "metadata.aoaiMirrors") or [])
            merged.setdefault((control, f"{name} (`{guid}`)", effect, mirrors), []).append(_linked(graph, a, "scope"))
        out += ["| Control | Built-in definition | Effect | Scope | Mirrors |", "|---|---|---|---|---|"]
        for (control, name, effect, mirrors), scopes in merged.items():
            out.append(f"| {cell(control)} | {cell(name)} | {cell(effect)} | "
                       f"{cell(', '.join(sorted(set(scopes))))} | {mirrors} |")
        out.append("")
    exemptions = _by_type(graph, POLICY_EXEMPTION)
    out += ["**Exemptions**", ""]
    if not exemptions:
        out += ["None: every assignment applies to its whole scope.", ""]
    else:
        out += ["| Control | Scope | Until | Category | Reason |", "|---|---|---|---|---|"]
        for e in exemptions:
            out.append(f"| {cell(display(get_path(e.inputs, 'metadata.aoaiControl')))} | "
                       f"{cell(_linked(graph, e, 'scope'))} | {cell(display(e.inputs.get('expiresOn'))[:10])} | "
                       f"{cell(display(e.inputs.get('exemptionCategory')))} | "
                       f"{cell(display(e.inputs.get('description')))} |")
        out.append("")
    out += ["**Pack controls no built-in definition mirrors** (enforced before deployment only)", ""]
    out += [f"- `{policy}`: {cell(reason)}" for policy, reason in catalog.uncovered]
    out.append("")
    return out


SETTINGS: dict[str, SettingsReader] = {
    "network": _network, "encryption": _encryption, "identity": _identity, "logging": _logging,
    "residency": _residency, "protection": _protection, "content": _content, "runtime": _runtime,
    "other": lambda graph: [],
}



# --- alerts as Azure evaluates them -------------------------------------------------------------------------------

OPERATORS = {"GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<", "LessThanOrEqual": "<=",
             "Equals": "="}


def alert_conditions(graph: Graph) -> list[tuple[str, str, str, str, str]]:
    """Per metric alert: (alert, condition with its dimension filters, evaluation, severity, account), in the words
    Azure Monitor evaluates them: "Total of AzureOpenAIRequests where StatusCode is 429 > 10"."""
    rows = []
    for alert in _by_type(graph, ALERT):
        for criterion in get_path(alert.inputs, "criteria.allOf") or []:
            if not isinstance(criterion, Mapping):
                continue
            filters = []
            for dim in criterion.get("dimensions") or []:
                if isinstance(dim, Mapping):
                    values = ", ".join(str(v) for v in dim.get("values") or [])
                    verb = "is" if dim.get("operator") == "Include" else "is not"
                    filters.append(f"{dim.get('name')} {verb} {values}")
            where = f" where {' and '.join(filters)}" if filters else " (every request, no dimension filter)"
            condition = (f"{display(criterion.get('timeAggregation'))} of {display(criterion.get('metricName'))}"
                         f"{where} {OPERATORS.get(str(criterion.get('operator')), criterion.get('operator'))} "
                         f"{display(criterion.get('threshold'))}")
            evaluation = (f"over {display(alert.inputs.get('windowSize'))}, every "
                          f"{display(alert.inputs.get('evaluationFrequency'))}")
            enabled = alert.inputs.get("enabled", True)
            rows.append((azure_name(alert), condition, evaluation + ("" if enabled is not False else ", DISABLED"),
                         display(alert.inputs.get("severity")), _linked(graph, alert, "scopes")))
    return rows


# --- network ids a hub team checks -------------------------------------------------------------------------------

def network_ids(graph: Graph) -> list[tuple[str, str, str]]:
    """(what, full ARM id, whose): each private endpoint's subnet and each private DNS zone its records go to, and
    whether this stack creates it or it is an existing (hub) resource the stack only references."""
    ids = {display(r.outputs.get("id")).lower() for r in graph.resources if r.custom and r.outputs.get("id")}
    rows: list[tuple[str, str, str]] = []
    for endpoint in _by_type(graph, ENDPOINT):
        subnet = get_path(endpoint.inputs, "subnet.id")
        if isinstance(subnet, str) and not is_unknown(subnet):
            rows.append((f"subnet of {azure_name(endpoint)}", subnet,
                         "created by this stack" if subnet.lower() in ids else "existing (hub): not managed here"))
    seen: set[str] = set()
    for group in _by_type(graph, ZONE_GROUP):
        for config in group.inputs.get("privateDnsZoneConfigs") or []:
            zone = config.get("privateDnsZoneId") if isinstance(config, Mapping) else None
            if isinstance(zone, str) and not is_unknown(zone) and zone.lower() not in seen:
                seen.add(zone.lower())
                rows.append(("private DNS zone", zone,
                             "created by this stack" if zone.lower() in ids else "existing (hub): not managed here"))
    return rows


# --- provisioned capacity and its monthly cost --------------------------------------------------------------------

PROVISIONED_SKUS = ("ProvisionedManaged", "DataZoneProvisionedManaged", "GlobalProvisionedManaged")


def provisioned_capacity(graph: Graph) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """(SKU, region) -> [(deployment, PTUs)] of the provisioned deployments (region: their account's location)."""
    accounts = {r.urn: r for r in graph.resources if r.type == ACCOUNT}
    result: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for deployment in _by_type(graph, DEPLOYMENT):
        sku = get_path(deployment.inputs, "sku.name")
        if sku not in PROVISIONED_SKUS:
            continue
        account = next((accounts[u] for u in deployment.property_dependencies.get("accountName", ()) if u in accounts),
                       None) or accounts.get(deployment.parent)
        region = display(account.inputs.get("location")) if account is not None else "?"
        capacity = get_path(deployment.inputs, "sku.capacity")
        result.setdefault((str(sku), region), []).append((azure_name(deployment), int(capacity or 0)))
    return result
