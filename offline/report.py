"""The compliance report for security review: the environment's architecture drawn from the resource graph, then per
control the settings that implement it (values and resource names, as Azure will receive them), the policies that
enforce it with their verdicts from the gate run, and the framework controls they map to.

Everything comes from one run of the real program and the served policy pack, so the report cannot drift from what
is deployed; audit metadata (frameworks, outside equivalents) comes from the pack's POLICY_METADATA registry when it
has one, else from what the pack reports over the Analyzer protocol.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analyzer_host import PolicyInfo
from .engine import Graph, Resource
from .gate import CheckResult, Violation
from .render import role_names, short_id
from .values import display, get_path, is_unknown

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI_POLICY = "azure-native:cognitiveservices:RaiPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
ALERT = "azure-native:monitor:MetricAlert"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
POLICY_ASSIGNMENT = "azure-native:authorization:PolicyAssignment"
POLICY_EXEMPTION = "azure-native:authorization:PolicyExemption"
ACTIVITY_LOG = "azure-native:monitor:SubscriptionDiagnosticSetting"
ACTIVITY_ALERT = "azure-native:monitor:ActivityLogAlert"
LOG_ALERT = "azure-native:monitor:ScheduledQueryRule"
SYSTEM_TOPIC = "azure-native:eventgrid:SystemTopic"
EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
DEFENDER = "azure-native:security:Pricing"

# The input that holds each type's Azure name (what a reviewer finds in the portal).
NAME_KEYS = {
    ACCOUNT: "accountName", DEPLOYMENT: "deploymentName", RAI_POLICY: "raiPolicyName", VAULT: "vaultName",
    KEY: "keyName", IDENTITY: "resourceName", ENDPOINT: "privateEndpointName", VNET: "virtualNetworkName",
    SUBNET: "subnetName", NSG: "networkSecurityGroupName", ZONE: "privateZoneName", LINK: "virtualNetworkLinkName",
    WORKSPACE: "workspaceName", ALERT: "ruleName", ACTION_GROUP: "actionGroupName", RESOURCE_GROUP: "resourceGroupName",
    LOCK: "lockName", POLICY_ASSIGNMENT: "policyAssignmentName", POLICY_EXEMPTION: "policyExemptionName",
    ACTIVITY_LOG: "name", ACTIVITY_ALERT: "activityLogAlertName", LOG_ALERT: "ruleName",
    SYSTEM_TOPIC: "systemTopicName", EVENT_SUBSCRIPTION: "eventSubscriptionName", DEFENDER: "pricingName",
}
LABELS = {
    ACCOUNT: "Azure OpenAI account", DEPLOYMENT: "Model deployment", RAI_POLICY: "Content filter", VAULT: "Key Vault",
    KEY: "Key", IDENTITY: "Managed identity", ROLE: "Role assignment", LOCK: "Lock", ENDPOINT: "Private endpoint",
    VNET: "VNet", SUBNET: "Subnet", NSG: "NSG", ZONE: "Private DNS zone", LINK: "VNet link", WORKSPACE: "Log Analytics",
    DIAGNOSTIC: "Diagnostic setting", ALERT: "Metric alert", ACTION_GROUP: "Action group",
    RESOURCE_GROUP: "Resource group", POLICY_ASSIGNMENT: "Policy assignment", POLICY_EXEMPTION: "Policy exemption",
    ACTIVITY_LOG: "Activity Log setting", ACTIVITY_ALERT: "Activity Log alert", LOG_ALERT: "Log alert",
    SYSTEM_TOPIC: "Event Grid system topic", EVENT_SUBSCRIPTION: "Event Grid subscription", DEFENDER: "Defender plan",
}


@dataclass(frozen=True)
class Control:
    """A control the security review asks about; policies are matched to it by their audit metadata."""

    key: str
    title: str
    objective: str
    control_sets: tuple[str, ...]  # names of the pack's shared Controls constants that belong here
    keywords: tuple[str, ...]  # fallback: words in a policy's name or concern


CONTROLS = (
    Control("network", "Network isolation",
            "The account and the key vault accept traffic only through private endpoints in the environment's VNet; "
            "public network access is off, network rules deny by default, and the account's outbound calls are "
            "restricted to an allow-list.",
            ("NETWORK_ISOLATION", "DATA_EXFILTRATION"),
            ("network", "private", "public", "dns", "endpoint", "outbound", "egress", "firewall", "subnet")),
    Control("encryption", "Encryption at rest with a customer-managed key",
            "Prompts, completions and fine-tuning data at rest are encrypted with an RSA key the organisation holds "
            "in its own Key Vault (HSM-backed in production), read by a dedicated identity with one narrow role.",
            ("ENCRYPTION_AT_REST", "KEY_MANAGEMENT", "KEY_STORE"),
            ("cmk", "key", "encryption", "vault", "crypto")),
    Control("identity", "Identity and access",
            "Only Entra ID principals reach the models (API keys are disabled); roles are least-privilege, granted "
            "to groups and workload identities, and never privileged at the account's scope.",
            ("AUTHENTICATION", "LEAST_PRIVILEGE"),
            ("role", "identity", "auth", "rbac", "access", "principal")),
    Control("logging", "Logging and monitoring",
            "Audit and request logs of the account and the vault go to a Log Analytics workspace in the same region, "
            "kept for the retention period; metric alerts notify the on-call team.",
            ("AUDIT_LOGGING",),
            ("diagnostic", "log", "alert", "monitor", "workspace", "retention")),
    Control("residency", "Data residency",
            "Every resource lives in an allowed region and every model deployment keeps processing in its region or "
            "data zone (no Global SKUs), so prompts and completions stay where the data may be.",
            ("DATA_RESIDENCY",),
            ("residency", "region", "location", "zone", "global")),
    Control("protection", "Deletion protection",
            "What holds data or keys cannot be deleted by accident: Pulumi `protect`, CanNotDelete locks, and soft "
            "delete with purge protection on the vault.",
            ("DELETION_PROTECTION",),
            ("protect", "lock", "purge", "soft-delete", "deletion", "delete")),
    Control("content", "Content safety",
            "Every model deployment names a content filter (RAI policy) that blocks hate, sexual, violence and "
            "self-harm content at the required severity, and jailbreak attempts.",
            ("CONTENT_SAFETY", "RESPONSIBLE_AI", "AI_SAFETY"),
            ("content", "filter", "rai", "jailbreak", "safety", "harm")),
    Control("runtime", "Runtime enforcement",
            "After deployment the controls keep holding: built-in Azure Policy assignments deny (or audit, where the "
            "definition offers no deny) what the pack forbids, exemptions are reasoned and expire, the "
            "subscription's Activity Log lands in the workspace, and changes to roles, locks, the account, the vault, "
            "the key and the policy assignments page the on-call; Defender for AI watches the accounts.",
            ("RUNTIME_ENFORCEMENT", "CHANGE_MONITORING", "THREAT_DETECTION"),
            ("guardrail", "exemption", "activity-log", "defender")),
)
OTHER = Control("other", "Other governance controls",
                "Policies that keep the environment reviewable and changes deliberate: model and version allow-lists, "
                "upgrade pinning, naming and tagging.", (), ())


@dataclass(frozen=True)
class PolicyAudit:
    """What the report says about a policy: the pack's own description plus its audit metadata."""

    info: PolicyInfo
    control: Control
    frameworks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    equivalents: tuple[str, ...] = ()
    remediation: str = ""


# --- policy metadata ---------------------------------------------------------------------------------------------

def load_policy_metadata(pack_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The pack's POLICY_METADATA registry and the names of its shared control sets, by importing the pack's package
    (never its __main__, which serves forever). ({}, {}) when the pack has no such registry."""
    packages = sorted(p.parent.name for p in pack_dir.glob("*/__init__.py"))
    if not packages:
        return {}, {}
    registry: dict[str, Any] = {}
    control_sets: dict[str, str] = {}
    modules = []
    sys.path.insert(0, str(pack_dir))  # as the pack's own process has it: its directory first
    try:
        for package_name in packages:
            try:
                package = importlib.import_module(package_name)
                modules += [package] + [importlib.import_module(m.name)
                                        for m in pkgutil.walk_packages(package.__path__, f"{package_name}.")]
            except Exception:  # a pack that cannot be imported still has its Analyzer metadata
                continue
    finally:
        sys.path.remove(str(pack_dir))
    for module in modules:
        found = getattr(module, "POLICY_METADATA", None)
        if isinstance(found, Mapping):
            registry.update(found)
        for name, value in vars(module).items():
            if name.isupper() and type(value).__name__ == "Controls":
                control_sets.setdefault(repr(value), name)
    return registry, control_sets


def audit_policies(policies: Iterable[PolicyInfo], registry: Mapping[str, Any],
                   control_sets: Mapping[str, str]) -> list[PolicyAudit]:
    """Each policy with its control (by metadata `control`, the shared control set it uses, its concern, then words
    in its name) and its framework references (metadata first, the Analyzer's framework field otherwise)."""
    audits = []
    for info in policies:
        meta = registry.get(info.name)
        control = _control_of(info, meta, control_sets)
        frameworks: dict[str, tuple[str, ...]] = {}
        equivalents: tuple[str, ...] = ()
        remediation = info.remediation_steps
        if meta is not None:
            controls = getattr(meta, "controls", None)
            by_framework = getattr(controls, "by_framework", None)
            if callable(by_framework):
                frameworks = {str(k): tuple(v) for k, v in by_framework().items()}
            equivalents = tuple(f"{label} {rule}" for label, attr in
                                (("Checkov", "checkov"), ("Azure Policy", "azure_policy"), ("PSRule", "psrule"))
                                for rule in getattr(meta, attr, ()) or ())
            remediation = getattr(meta, "remediation", "") or remediation
        elif info.framework:
            name = " ".join(filter(None, (info.framework.get("name"), info.framework.get("version"))))
            frameworks = {name or "framework": tuple(filter(None, (info.framework.get("reference"),)))}
        audits.append(PolicyAudit(info, control, frameworks, equivalents, remediation))
    return audits


def _control_of(info: PolicyInfo, meta: Any, control_sets: Mapping[str, str]) -> Control:
    # OTHER is a declarable control too: without it a policy declared "other" fell through to the heuristics below.
    by_key = {c.key: c for c in (*CONTROLS, OTHER)}
    declared = getattr(meta, "control", None)
    if isinstance(declared, str) and declared in by_key:
        return by_key[declared]
    set_name = control_sets.get(repr(getattr(meta, "controls", None)), "")
    for control in CONTROLS:
        if set_name in control.control_sets:
            return control
    if set_name in ("CHANGE_CONTROL", "ASSET_INVENTORY"):
        return OTHER
    words = " ".join([info.name, str(getattr(meta, "concern", "")), *info.tags]).lower()
    for control in CONTROLS:
        if any(k in words for k in control.keywords):
            return control
    return OTHER


# --- reading the graph -------------------------------------------------------------------------------------------

# Child resources are named within their parent: `kv-aoai-prod-swc/aoai-cmk` says which key.
PARENT_NAME_KEYS = {KEY: "vaultName", SUBNET: "virtualNetworkName", DEPLOYMENT: "accountName",
                    EVENT_SUBSCRIPTION: "systemTopicName",
                    RAI_POLICY: "accountName", LINK: "privateZoneName"}


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
            out.append(f"| {_cell(control)} | {_cell(name)} | {_cell(effect)} | "
                       f"{_cell(', '.join(sorted(set(scopes))))} | {mirrors} |")
        out.append("")
    exemptions = _by_type(graph, POLICY_EXEMPTION)
    out += ["**Exemptions**", ""]
    if not exemptions:
        out += ["None: every assignment applies to its whole scope.", ""]
    else:
        out += ["| Control | Scope | Until | Category | Reason |", "|---|---|---|---|---|"]
        for e in exemptions:
            out.append(f"| {_cell(display(get_path(e.inputs, 'metadata.aoaiControl')))} | "
                       f"{_cell(_linked(graph, e, 'scope'))} | {_cell(display(e.inputs.get('expiresOn'))[:10])} | "
                       f"{_cell(display(e.inputs.get('exemptionCategory')))} | "
                       f"{_cell(display(e.inputs.get('description')))} |")
        out.append("")
    out += ["**Pack controls no built-in definition mirrors** (enforced before deployment only)", ""]
    out += [f"- `{policy}`: {_cell(reason)}" for policy, reason in catalog.uncovered]
    out.append("")
    return out


SETTINGS: dict[str, SettingsReader] = {
    "network": _network, "encryption": _encryption, "identity": _identity, "logging": _logging,
    "residency": _residency, "protection": _protection, "content": _content, "runtime": _runtime,
    "other": lambda graph: [],
}


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


# --- the report ---------------------------------------------------------------------------------------------------

VERDICT_TEXT = {"pass": "✅ pass", "fail": "❌ fail", "undecided": "❔ undecided", "disabled": "⏸ disabled"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _violation_line(v: Violation) -> str:
    return f"- **{v.enforcement_level}** `{v.policy}` on `{v.resource_name}`: {_cell(v.message)}"


def compliance_report(graph: Graph, result: CheckResult, pack_dir: Path) -> str:
    """The whole report as Markdown."""
    registry, control_sets = load_policy_metadata(pack_dir)
    audits = audit_policies(result.pack.policies, registry, control_sets)
    verdicts = result.verdicts()
    violations_by_policy: dict[str, list[Violation]] = defaultdict(list)
    for v in result.violations:
        violations_by_policy[v.policy].append(v)
    regions = sorted({display(r.inputs.get("location")) for r in graph.resources
                      if r.type == ACCOUNT and r.inputs.get("location")})
    custom = sum(r.custom for r in graph.resources)

    out: list[str] = [
        f"# Compliance report: {graph.project}, stack `{graph.stack}`",
        "",
        "Generated offline by `python -m offline report --stack "
        f"{graph.stack}` from the stack's configuration, the real Pulumi program run under the mock engine and the "
        f"policy pack `{result.pack.name}` {result.pack.version} served as `pulumi preview --policy-pack` serves it. "
        "Values are what the program sends to Azure; ids and URIs are synthetic stand-ins for those Azure assigns. "
        "It shows how the environment is built and checked, not the state of a live subscription.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Gate verdict | {'❌ FAIL' if result.mandatory else '✅ PASS'}: {len(result.mandatory)} mandatory and "
        f"{len(result.advisory)} advisory violation(s) |",
        f"| Regions | {', '.join(regions) or 'none'} |",
        f"| Resources | {len(graph.resources)} ({custom} Azure resources, "
        f"{len(graph.resources) - custom} components) |",
        f"| Policy pack | {result.pack.name} {result.pack.version}, {len(result.pack.policies)} policies |",
        f"| Policy config | {result.config_source or 'pack defaults'} |",
    ]
    if result.first_preview:
        out.append(f"| Mode | first preview: {len(result.undecided)} checks cannot decide until resources exist |")
    out += ["", "| Control | Policies | Status |", "|---|---|---|"]
    sections = [*CONTROLS, OTHER]
    for control in sections:
        mine = [a for a in audits if a.control is control]
        if control is OTHER and not mine:
            continue
        out.append(f"| [{control.title}](#{_anchor(control.title)}) | {len(mine)} | "
                   f"{_status(mine, verdicts, violations_by_policy)} |")
    if result.violations:
        out += ["", "### Violations", ""] + [_violation_line(v) for v in result.violations]
    if graph.warnings:
        out += ["", "### Warnings", "",
                "The program warned (a model version close to retirement, within `modelLifecycle.warningDays`):", ""]
        out += [f"- {warning}" for warning in graph.warnings]

    out += ["", "## Architecture", "",
            "Drawn from the resource graph: boxes are what the program creates, arrows follow the values one "
            "resource takes from another (🔒: protected or locked against deletion).", "",
            "```mermaid", Diagram(graph).render(), "```"]

    for control in sections:
        mine = sorted((a for a in audits if a.control is control), key=lambda a: a.info.name)
        if control is OTHER and not mine:
            continue
        out += ["", f"## {control.title}", "", control.objective, ""]
        if control.key == "runtime":
            out += runtime_enforcement(graph)
        rows = SETTINGS[control.key](graph)
        if rows:
            out += ["**Implemented by**", "", "| Setting | Value | Resources |", "|---|---|---|"]
            for (setting, value), names in _merge(rows):
                out.append(f"| {_cell(setting)} | {_cell(value)} | {_cell(', '.join(names))} |")
            out.append("")
        out += ["**Enforced by**", ""]
        if not mine:
            out.append("No policy of the pack enforces this control: a gap to close before relying on it.")
        else:
            out += ["| Policy | Checks | Level | Verdict | Outside equivalents |", "|---|---|---|---|---|"]
            for audit in mine:
                info = audit.info
                count = len(violations_by_policy.get(info.name, []))
                verdict = VERDICT_TEXT[verdicts[info.name]] + (f" ({count})" if count else "")
                out.append(f"| `{info.name}` | {_cell(info.description)} | {result.levels.get(info.name, '')} | "
                           f"{verdict} | {_cell(', '.join(audit.equivalents)) or 'ours only'} |")
            found = [v for a in mine for v in violations_by_policy.get(a.info.name, [])]
            if found:
                out += ["", "Findings:", ""] + [_violation_line(v) for v in found]
                fixes = {a.info.name: a.remediation for a in mine if a.info.name in violations_by_policy
                         and a.remediation}
                out += ["", "Remediation:", ""] + [f"- `{name}`: {_cell(text)}" for name, text in sorted(fixes.items())]
            undecided = sorted({u.policy for u in result.undecided} & {a.info.name for a in mine})
            if undecided:
                out += ["", "Cannot decide on a first preview (values unknown until the resources exist): "
                        + ", ".join(f"`{p}`" for p in undecided) + "."]
            frameworks = _frameworks(mine)
            if frameworks:
                out += ["", "**Framework references**", ""]
                out += [f"- {name}: {', '.join(refs)}" for name, refs in frameworks.items()]

    out += ["", "## Inventory", "", "| Type | Count |", "|---|---|"]
    for type_, count in sorted(Counter(r.type for r in graph.resources if r.custom).items()):
        out.append(f"| `{type_}` | {count} |")
    config = ("" if result.config_source == f"policies/config/{graph.stack}.json"
              else f" --policy-config {result.config_source}" if result.config_source else "")
    first = " --as-first-preview" if result.first_preview else ""
    out += ["", "## Reproduce", "", "```sh", f"python -m offline check --stack {graph.stack}{first}{config}",
            f"python -m offline report --stack {graph.stack}{first}{config}", "```", ""]
    return "\n".join(out)


def _merge(rows: list[Row]) -> list[tuple[tuple[str, str], list[str]]]:
    """Rows with the same setting and value (the same choice in every region) become one row naming all resources."""
    merged: dict[tuple[str, str], list[str]] = {}
    for setting, value, resource in rows:
        merged.setdefault((setting, value), []).append(resource)
    return [(key, sorted(set(names))) for key, names in merged.items()]


def _status(audits: list[PolicyAudit], verdicts: Mapping[str, str],
            violations: Mapping[str, list[Violation]]) -> str:
    if not audits:
        return "⚠️ no policy enforces it"
    names = [a.info.name for a in audits]
    mandatory = sum(1 for n in names for v in violations.get(n, []) if v.enforcement_level == "mandatory")
    advisory = sum(1 for n in names for v in violations.get(n, []) if v.enforcement_level == "advisory")
    undecided = sum(1 for n in names if verdicts.get(n) == "undecided")
    if mandatory:
        return f"❌ {mandatory} mandatory violation(s)"
    parts = []
    if advisory:
        parts.append(f"⚠️ {advisory} advisory finding(s)")
    if undecided:
        parts.append(f"❔ {undecided} undecided until apply")
    return ", ".join(parts) or "✅ all pass"


def _frameworks(audits: Iterable[PolicyAudit]) -> dict[str, list[str]]:
    refs: dict[str, set[str]] = defaultdict(set)
    order: list[str] = []
    for audit in audits:
        for framework, controls in audit.frameworks.items():
            if framework not in order:
                order.append(framework)
            refs[framework] |= set(controls)
    return {name: sorted(refs[name]) for name in order if refs[name]}


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-")
