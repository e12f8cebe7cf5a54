"""Human and machine renderings of a run: the resource tree with each resource's key settings, the gate's verdicts
grouped by enforcement level, and the deterministic JSON document CI and reviewers diff.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from settings import shapes

from .engine import ROOT_STACK_TYPE, Graph, Resource
from .gate import CheckResult, ViolationGroup, root_stack_urn
from .values import UNKNOWN, contains_unknown, display, get_path, is_unknown, to_engine

Settings = list[tuple[str, Any]]


@functools.cache
def role_names() -> dict[str, str]:
    """Role definition GUID -> built-in role name, from the project's one role table."""
    from settings.catalog import ROLE_IDS

    return {guid: name for name, guid in ROLE_IDS.items()}


def short_id(value: Any) -> Any:
    """The last `collection/name` of an ARM id: enough to say what a scope or link points at."""
    if isinstance(value, str) and value.startswith("/subscriptions/"):
        parts = value.rstrip("/").split("/")
        return "/".join(parts[-2:])
    return value


def _label(path: str) -> tuple[str, str]:
    """`label=path`, or a label from the path: `properties.publicNetworkAccess` -> `publicNetworkAccess`,
    `sku.name` -> `sku` (a bare `name` says nothing)."""
    if "=" in path:
        label, path = path.split("=", 1)
        return label, path
    parts = path.split(".")
    return (parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]), path


def _paths(*paths: str) -> Callable[[Mapping[str, Any]], Settings]:
    labelled = [_label(p) for p in paths]
    return lambda inputs: [(label, get_path(inputs, path)) for label, path in labelled]


def _deployment(i: Mapping[str, Any]) -> Settings:
    return [("model", f"{display(get_path(i, 'properties.model.name'))} "
                      f"{display(get_path(i, 'properties.model.version'))}"),
            ("sku", get_path(i, "sku.name")), ("capacity", get_path(i, "sku.capacity")),
            ("versionUpgradeOption", get_path(i, "properties.versionUpgradeOption")),
            ("raiPolicyName", get_path(i, "properties.raiPolicyName")),
            ("spilloverDeploymentName", get_path(i, "properties.spilloverDeploymentName"))]


def _rai(i: Mapping[str, Any]) -> Settings:
    filters = get_path(i, "properties.contentFilters") or []
    thresholds = sorted({str(f["severityThreshold"]) for f in filters if isinstance(f, Mapping)
                         and f.get("severityThreshold")})
    blocking = [f.get("name") for f in filters if isinstance(f, Mapping) and f.get("enabled") and f.get("blocking")]
    return [("basePolicyName", get_path(i, "properties.basePolicyName")), ("mode", get_path(i, "properties.mode")),
            ("severityThreshold", "/".join(thresholds)), ("blockingFilters", len(blocking))]


def _role(i: Mapping[str, Any]) -> Settings:
    role_id = get_path(i, "roleDefinitionId")
    role = role_names().get(str(role_id).rsplit("/", 1)[-1], role_id) if not is_unknown(role_id) else role_id
    return [("role", role), ("principalType", i.get("principalType")), ("scope", short_id(i.get("scope")))]


def _diagnostics(i: Mapping[str, Any]) -> Settings:
    logs = [log.get("category") or log.get("categoryGroup") for log in i.get("logs") or [] if isinstance(log, Mapping)]
    metrics = [m.get("category") for m in i.get("metrics") or [] if isinstance(m, Mapping)]
    return [("logs", logs), ("metrics", metrics), ("workspace", short_id(i.get("workspaceId")))]


def _alert(i: Mapping[str, Any]) -> Settings:
    criteria = get_path(i, "criteria.allOf") or [{}]
    first = criteria[0] if isinstance(criteria, list) and criteria else {}
    return [("severity", i.get("severity")), ("metric", first.get("metricName")),
            ("threshold", f"{display(first.get('operator'))} {display(first.get('threshold'))}"),
            ("window", i.get("windowSize"))]


def _assignment(i: Mapping[str, Any]) -> Settings:
    parameters = i.get("parameters") or {}
    effect = get_path(parameters, "effect.value") or get_path(parameters, "audit_effect.value")
    return [("definition", str(i.get("policyDefinitionId") or "").rsplit("/", 1)[-1][:8]), ("effect", effect),
            ("enforcementMode", i.get("enforcementMode")), ("scope", short_id(i.get("scope")))]


def _activity_alert(i: Mapping[str, Any]) -> Settings:
    operations = [leaf.get("equals") for c in get_path(i, "condition.allOf") or [] if isinstance(c, Mapping)
                  for leaf in (c.get("anyOf") or [c]) if isinstance(leaf, Mapping) and leaf.get("field") ==
                  "operationName"]
    return [("location", i.get("location")), ("operations", operations)]


KEY_SETTINGS: dict[str, Callable[[Mapping[str, Any]], Settings]] = {
    shapes.RESOURCE_GROUP: _paths("location"),
    shapes.VIRTUAL_NETWORK: _paths("location", "addressSpace.addressPrefixes"),
    shapes.SUBNET: _paths("addressPrefix", "privateEndpointNetworkPolicies", "defaultOutboundAccess"),
    shapes.NETWORK_SECURITY_GROUP: lambda i: [("location", i.get("location")),
                                                            ("rules", len(i.get("securityRules") or []))],
    shapes.PRIVATE_ENDPOINT: lambda i: [
        ("location", i.get("location")),
        ("groupIds", get_path((i.get("privateLinkServiceConnections") or [{}])[0], "groupIds"))],
    shapes.PRIVATE_DNS_ZONE_GROUP: lambda i: [
        ("zones", [c.get("name") for c in i.get("privateDnsZoneConfigs") or [] if isinstance(c, Mapping)])],
    shapes.PRIVATE_ZONE: _paths("privateZoneName", "location"),
    shapes.VIRTUAL_NETWORK_LINK: _paths("privateZoneName", "registrationEnabled"),
    shapes.ACCOUNT: _paths(
        "location", "kind", "sku.name", "properties.publicNetworkAccess", "properties.networkAcls.defaultAction",
        "properties.disableLocalAuth", "properties.restrictOutboundNetworkAccess", "properties.encryption.keySource",
        "identity=identity.type"),
    shapes.DEPLOYMENT: _deployment,
    shapes.RAI_POLICY: _rai,
    shapes.VAULT: _paths(
        "location", "properties.sku.name", "properties.enableRbacAuthorization", "properties.enablePurgeProtection",
        "properties.softDeleteRetentionInDays", "properties.publicNetworkAccess"),
    shapes.KEY: _paths("properties.kty", "properties.keySize", "properties.keyOps"),
    shapes.USER_ASSIGNED_IDENTITY: _paths("location"),
    shapes.ROLE_ASSIGNMENT: _role,
    shapes.LOCK: lambda i: [("level", i.get("level")),
                                                                   ("scope", short_id(i.get("scope")))],
    shapes.DIAGNOSTIC_SETTING: _diagnostics,
    shapes.WORKSPACE: _paths("location", "sku.name", "retentionInDays"),
    shapes.ACTION_GROUP: lambda i: [("receivers", len(i.get("emailReceivers") or []))],
    shapes.METRIC_ALERT: _alert,
    shapes.POLICY_ASSIGNMENT: _assignment,
    shapes.POLICY_EXEMPTION: lambda i: [
        ("expiresOn", i.get("expiresOn")), ("category", i.get("exemptionCategory")),
        ("scope", short_id(i.get("scope")))],
    shapes.SUBSCRIPTION_DIAGNOSTIC_SETTING: lambda i: [
        ("logs", [log.get("category") for log in i.get("logs") or [] if isinstance(log, Mapping)]),
        ("workspace", short_id(i.get("workspaceId")))],
    shapes.ACTIVITY_LOG_ALERT: _activity_alert,
    shapes.SCHEDULED_QUERY_RULE: _paths("location", "severity", "windowSize"),
    shapes.SYSTEM_TOPIC: _paths("location", "topicType"),
    shapes.SYSTEM_TOPIC_EVENT_SUBSCRIPTION: _paths(
        "endpointType=destination.endpointType", "severity=destination.severity",
        "events=filter.includedEventTypes"),
    shapes.DEFENDER_PRICING: _paths("pricingName", "pricingTier"),
}


def key_settings(resource: Resource) -> Settings:
    """The settings a reviewer checks first for this type (location for any type we do not know)."""
    picker = KEY_SETTINGS.get(resource.type, _paths("location"))
    return [(label, value) for label, value in picker(resource.inputs) if value is not None and value != ""]


def tree_lines(graph: Graph) -> list[str]:
    """The resource tree: component > resources, children by name, each with its key settings and `protect`."""
    children: dict[str, list[Resource]] = defaultdict(list)
    known = {r.urn for r in graph.resources}
    root = root_stack_urn(graph)
    for resource in graph.resources:
        children[resource.parent if resource.parent in known else root].append(resource)
    custom = sum(r.custom for r in graph.resources)
    azure = sum(r.custom and r.type.startswith("azure-native:") for r in graph.resources)
    other = f" and {custom - azure} of other providers" if custom > azure else ""
    lines = [f"{graph.project}-{graph.stack} ({ROOT_STACK_TYPE}): {len(graph.resources)} resources, "
             f"{len(graph.resources) - custom} components, {azure} Azure resources{other}"]

    def walk(urn: str, prefix: str) -> None:
        kids = sorted(children.get(urn, []), key=lambda r: r.name)
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            flags = "  [protect]" if resource.protect else ""
            lines.append(f"{prefix}{'└── ' if last else '├── '}{resource.name}  {resource.type}{flags}")
            settings = key_settings(resource) if resource.custom else []
            inner = prefix + ("    " if last else "│   ")
            if settings:
                bar = "│   " if children.get(resource.urn) else "    "
                lines.append(f"{inner}{bar}" + ", ".join(f"{k}={display(v)}" for k, v in settings))
            walk(resource.urn, inner)

    walk(root, "")
    return lines


def unknown_summary(graph: Graph) -> list[str]:
    """For a first preview: which resources get inputs that are unknown until their dependencies exist."""
    lines = []
    for resource in sorted(graph.resources, key=lambda r: r.name):
        if resource.custom:
            unknown = _unknown_paths(resource.inputs)
            if unknown:
                lines.append(f"  {resource.name}: {', '.join(unknown)}")
    return lines


def _unknown_paths(value: Any, path: str = "") -> list[str]:
    if is_unknown(value):
        return [path or "(all)"]
    if isinstance(value, Mapping):
        return [p for k, v in sorted(value.items()) for p in _unknown_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, f"{path}[{i}]")]
    return []


def check_lines(result: CheckResult) -> list[str]:
    """The gate's verdicts, mandatory first, each with policy, resource and the policy's own message."""
    pack = result.pack
    config = result.config_source or "no config file (pack defaults)"
    lines = [f"Policy pack {pack.name} {pack.version}: {len(pack.policies)} policies, config {config}",
             f"Analyzed {result.analyzed} Azure resources of stack {result.stack}"
             + (" as a first preview (computed values unknown)" if result.first_preview else "")]
    for level in ("mandatory", "advisory"):
        found = [v for v in result.violations if v.enforcement_level == level]
        groups = [g for g in result.groups() if g.enforcement_level == level]
        rules = f" of {len(groups)} rule{'s' if len(groups) > 1 else ''}" if len(found) > len(groups) else ""
        lines += ["", f"{level} violations ({len(found)}{rules})"]
        if not found:
            lines.append("  none")
        for group in groups:
            lines += _group_lines(group)
    if result.first_preview or result.undecided:
        by_policy: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for undecided in result.undecided:
            where = ("the whole stack" if f"::{ROOT_STACK_TYPE}::" in undecided.urn
                     else undecided.urn.rsplit("::", 1)[-1])
            by_policy[undecided.policy][undecided.message].append(where)
        lines += ["", f"cannot decide until the resources exist ({len(by_policy)} policies)"]
        if not result.undecided:
            lines.append("  none: every policy could decide")
        for policy, notes in sorted(by_policy.items()):
            lines.append(f"  {policy}")
            for message, names in sorted(notes.items()):
                shown = ", ".join(sorted(names)[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                lines.append(f"      {message} ({shown})")
    disabled = sorted(name for name, level in result.levels.items() if level == "disabled")
    if disabled:
        lines += ["", f"disabled by config: {', '.join(disabled)}"]
    if result.remediated:
        lines += ["", f"remediated ({len(result.remediated)}): the CLI would deploy these resources with the inputs "
                      "the policy rewrote"]
        lines += [f"  {policy}: {urn.rsplit('::', 1)[-1]}" for policy, urn in result.remediated]
    verdict = (f"FAIL: {len(result.mandatory)} mandatory violation(s) block the deployment" if result.mandatory
               else "PASS: no mandatory violations")
    return [*lines, "", verdict]


def _group_lines(group: ViolationGroup) -> list[str]:
    """One rule's violations: a single one as the pack said it, several as the rule, where to fix them, then each
    distinct finding once with the resources it names."""
    if group.count == 1:
        (finding,) = group.findings
        name, type_ = finding.resources[0]
        return [f"  {group.policy}: {name} ({type_})", *(f"      {line}" for line in finding.message.splitlines()),
                *([f"      {group.where}"] if group.where else [])]
    lines = [f"  {group.policy}: {group.count} resources"]
    if group.where:
        lines.append(f"      {group.where}")
    for finding in group.findings:
        first, *rest = finding.message.splitlines() or [""]
        lines += [f"    - {first}", *(f"      {line}" for line in rest)]
        if len(finding.resources) > 1 or group.NAME in finding.message:
            lines.append(f"      {group.NAME}: " + ", ".join(name for name, _ in finding.resources))
        else:
            lines.append(f"      on {finding.resources[0][0]} ({finding.resources[0][1]})")
    return lines


def resource_json(resource: Resource) -> dict[str, Any]:
    """One registration in the --json document: engine-form inputs and outputs, dependencies sorted."""
    return {
        "urn": resource.urn, "type": resource.type, "name": resource.name, "parent": resource.parent,
        "custom": resource.custom, "protect": resource.protect, "id": resource.id or None,
        "dependencies": sorted(set(resource.dependencies)),
        "propertyDependencies": {k: sorted(set(v)) for k, v in sorted(resource.property_dependencies.items())},
        "ignoreChanges": list(resource.ignore_changes),
        "inputs": to_engine(resource.inputs),
        "outputs": to_engine(resource.outputs) if resource.custom else {},
    }


def document(graph: Graph, result: CheckResult | None = None) -> dict[str, Any]:
    """The --json document: stack, resources by URN, stack outputs, and (after a check) the pack's verdicts."""
    doc: dict[str, Any] = {
        "stack": graph.stack, "project": graph.project,
        "unknownSentinel": UNKNOWN if any(contains_unknown(r.inputs) for r in graph.resources) else None,
        "resources": [resource_json(r) for r in sorted(graph.resources, key=lambda r: r.urn)],
        "outputs": to_engine(graph.outputs),
        "warnings": list(graph.warnings),
        "violations": [],
    }
    if result is not None:
        verdicts = result.verdicts()
        doc.update({
            "firstPreview": result.first_preview,
            "policyPack": {"name": result.pack.name, "version": result.pack.version,
                           "config": result.config_source or None},
            "policies": [{"name": p.name, "type": p.policy_type, "enforcementLevel": result.levels.get(p.name),
                          "severity": p.severity or None, "verdict": verdicts[p.name]} for p in result.pack.policies],
            "violations": [v.as_json() for v in result.violations],
            "violationGroups": [g.as_json() for g in result.groups()],
            "undecided": [u.as_json() for u in result.undecided],
            "notApplicable": [{"policy": p, "urn": u, "reason": r} for p, u, r in result.not_applicable],
            "summary": {"mandatory": len(result.mandatory), "advisory": len(result.advisory),
                        "undecided": len(result.undecided), "exitCode": result.exit_code},
        })
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """Stable JSON: sorted keys, two-space indent, trailing newline; two runs of one stack are byte-identical."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
