"""Shared helpers: reading engine-shaped properties, ARM ids, policy config, and the two policy factories.

Resource policies read a resource's inputs; stack policies read every resource's outputs. Both read camelCase engine
properties, where numbers arrive as floats and lists and maps may be the SDK's unknown-checking proxies.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from .config_defaults import ALLOW_LIST, EXEMPTIONS, REPLACE, VOCABULARY, allow_lists, effective, with_defaults
from .metadata import PolicyMeta, register
from .remedies import config_where, where
from .tokens import canonical_type, label

ROOT_STACK = "pulumi:pulumi:Stack"
UNKNOWN = object()
"""Stands for a value that is not known until the update runs (an output of a resource not yet created)."""


# --- reading properties ---------------------------------------------------------------------------------------

def get(obj: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted camelCase path ('properties.networkAcls.defaultAction'), or `default` if absent."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return default if current is None else current


def get_or_unknown(obj: Any, path: str, default: Any = None) -> Any:
    """Like `get`, but returns UNKNOWN instead of raising when the value is computed during preview."""
    try:
        return get(obj, path, default)
    except UnknownValueError:
        return UNKNOWN


def items(value: Any) -> list[Any]:
    """A list of the value's elements: [] for None, the elements of a sequence (not of a string)."""
    if value is None or isinstance(value, (str, bytes, Mapping)):
        return []
    if isinstance(value, Sequence):
        return list(value)
    return []


def keys(value: Any) -> list[str]:
    """Keys of a map, or elements of a list: `identity.userAssignedIdentities` is a list of ids as input, a map
    id -> {principalId, clientId} as output."""
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    return [str(v) for v in items(value)]


def number(value: Any) -> float | None:
    """A number as float (engine numbers are floats), or None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def show(value: Any) -> str:
    """A value as a message shows it: 'text', 2048, true, [a, b], or 'not set'."""
    if value is None or value is UNKNOWN:
        return "not set" if value is None else "unknown until the update"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(show(v) for v in items(value)) + "]"


def names(values: Iterable[Any], conjunction: str = "and") -> str:
    """Values quoted and joined for a message: 'a', 'b' and 'c' (or 'a', 'b' or 'c')."""
    quoted = [show(v) for v in values]
    if len(quoted) <= 1:
        return "".join(quoted) or "(none)"
    return ", ".join(quoted[:-1]) + f" {conjunction} " + quoted[-1]


def json_type(value: Any) -> str:
    """The JSON type of a value as a message names it: string, number, boolean, list, object or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Sequence):
        return "list"
    return type(value).__name__


def listing(phrases: Iterable[str], conjunction: str = "and") -> str:
    """Phrases that already quote what they name ("Key Vault 'kv'") joined for a message: a, b and c."""
    found = list(phrases)
    if len(found) <= 1:
        return "".join(found) or "(none)"
    return ", ".join(found[:-1]) + f" {conjunction} " + found[-1]


def same(a: Any, b: Any) -> bool:
    """Case-insensitive equality of two strings (Azure names, enum values and ids are case-insensitive)."""
    return isinstance(a, str) and isinstance(b, str) and a.strip().lower() == b.strip().lower()


def norm_id(value: Any) -> str:
    """An ARM id or URI compared the way Azure compares them: case-insensitive, without a trailing slash."""
    return value.strip().rstrip("/").lower() if isinstance(value, str) else ""


def region(value: Any) -> str:
    """A location normalized for comparison: 'Sweden Central' and 'swedencentral' are the same region."""
    return value.replace(" ", "").lower() if isinstance(value, str) else ""


# ISO 8601 durations, every designator: PnYnMnWnD and a time part TnHnMnS, the smallest unit may carry a fraction.
_N = r"(\d+(?:[.,]\d+)?)"
_DURATION_RE = re.compile(rf"^P(?:{_N}Y)?(?:{_N}M)?(?:{_N}W)?(?:{_N}D)?(?:T(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?$",
                          re.IGNORECASE)
# Days per designator: a year as 365 days and a month as 30 (Key Vault's own reading of P1Y and P1M is not
# documented, so the pack rounds the way a reviewer would and keeps its limits well clear of the boundary).
_DAYS_PER = (365.0, 30.0, 7.0, 1.0, 1 / 24, 1 / 1440, 1 / 86400)


def duration_days(value: Any) -> float | None:
    """Days in an ISO 8601 duration (P1Y, P6M, P2W, P90D, PT720H, P1DT12H, PT0.5S), or None when `value` is not one
    (not a string, no designator, a time part without a unit, a bare 'P' or 'PT')."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _DURATION_RE.match(text)
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        return None
    parts = match.groups()
    if not any(parts):
        return None
    return sum(float(p.replace(",", ".")) * per for p, per in zip(parts, _DAYS_PER, strict=True) if p)


# --- ARM ids ----------------------------------------------------------------------------------------------------

def scope_kind(scope: Any) -> str:
    """What an ARM scope is: 'management group', 'subscription', 'resource group' or 'resource'."""
    s = norm_id(scope)
    parts = s.strip("/").split("/")
    if s.startswith("/providers/microsoft.management/managementgroups/"):
        return "management group"
    if len(parts) == 2 and parts[0] == "subscriptions":
        return "subscription"
    if len(parts) == 4 and parts[0] == "subscriptions" and parts[2] == "resourcegroups":
        return "resource group"
    return "resource" if s else "unknown scope"


def resource_group_id(resource_id: Any) -> str:
    """The normalized id of the resource group an ARM id lives in ('' when it has none)."""
    parts = norm_id(resource_id).strip("/").split("/")
    if len(parts) >= 4 and parts[0] == "subscriptions" and parts[2] == "resourcegroups":
        return "/" + "/".join(parts[:4])
    return ""


def resource_group_name(resource_id: Any) -> str:
    """The name of the resource group an ARM id lives in, as written in the id ('' when it has none)."""
    parts = resource_id.strip().strip("/").split("/") if isinstance(resource_id, str) else []
    if len(parts) >= 4 and parts[0].lower() == "subscriptions" and parts[2].lower() == "resourcegroups":
        return parts[3]
    return ""


def extension_target(extension_id: Any, provider_segment: str) -> str:
    """The normalized id an extension resource applies to, from its own id: the part before
    '/providers/<provider_segment>/' (e.g. 'Microsoft.Insights/diagnosticSettings')."""
    s = norm_id(extension_id)
    marker = f"/providers/{provider_segment.lower()}/"
    return s.rsplit(marker, 1)[0] if marker in s else ""


def child_parent(child_id: Any, collection: str) -> str:
    """The normalized id of a child resource's parent: the part before '/<collection>/<name>'."""
    s = norm_id(child_id)
    marker = f"/{collection.lower()}/"
    return s.rsplit(marker, 1)[0] if marker in s else ""


# --- stack view -------------------------------------------------------------------------------------------------

def resource_id(resource: PolicyResource) -> str:
    """A stack resource's normalized ARM id, from its outputs."""
    return norm_id(resource.props.get("id"))


def depends_on(resource: PolicyResource, target_urn: str) -> bool:
    """True when `resource` depends on `target_urn`, directly or through other resources."""
    seen: set[str] = set()
    pending = list(resource.dependencies)
    while pending:
        dep = pending.pop()
        if dep.urn == target_urn:
            return True
        if dep.urn not in seen:
            seen.add(dep.urn)
            pending.extend(dep.dependencies)
    return False


class Stack:
    """The resources of a stack, looked up by type and by ARM id. Types are canonical: a resource declared through a
    versioned or generated azure-native package is found under the default package's token."""

    def __init__(self, resources: Sequence[PolicyResource]):
        self.resources = list(resources)
        for resource in self.resources:
            resource.resource_type = canonical_type(resource.resource_type)

    def of_type(self, *tokens: str) -> list[PolicyResource]:
        """Every resource of the given types, in registration order."""
        return [r for r in self.resources if r.resource_type in tokens]

    def by_id(self, *tokens: str) -> dict[str, PolicyResource]:
        """Resources of the given types keyed by normalized ARM id."""
        return {resource_id(r): r for r in self.of_type(*tokens) if resource_id(r)}


def subject(resource_type: str, name: str) -> str:
    """How a message names a resource: its kind and its Pulumi name, e.g. "Key Vault 'prod-cmk-vault'"."""
    return f"{label(resource_type)} '{name}'"


# --- policy config ----------------------------------------------------------------------------------------------

Schema = dict[str, dict[str, Any]]


def string_list(description: str, default: Sequence[str]) -> dict[str, Any]:
    """A config property holding a list of strings."""
    return {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}


def integer_list(description: str, default: Sequence[int]) -> dict[str, Any]:
    """A config property holding a list of integers."""
    return {"type": "array", "items": {"type": "integer"}, "default": list(default), "description": description}


def flag(description: str, default: bool) -> dict[str, Any]:
    """A boolean config property."""
    return {"type": "boolean", "default": default, "description": description}


def integer(description: str, default: int, minimum: int = 0) -> dict[str, Any]:
    """An integer config property with a lower bound."""
    return {"type": "integer", "default": default, "minimum": minimum, "description": description}


def choice(description: str, values: Sequence[str], default: str) -> dict[str, Any]:
    """A string config property limited to `values`."""
    return {"type": "string", "enum": list(values), "default": default, "description": description}


def text(description: str, default: str) -> dict[str, Any]:
    """A free-text string config property."""
    return {"type": "string", "default": default, "description": description}


def list_map(description: str, default: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A config property mapping names to lists of strings (e.g. model -> approved versions)."""
    return {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": {k: list(v) for k, v in default.items()}, "description": description}


def text_map(description: str, default: Mapping[str, str]) -> dict[str, Any]:
    """A config property mapping names to strings (e.g. workspace id -> region)."""
    return {"type": "object", "additionalProperties": {"type": "string"}, "default": dict(default),
            "description": description}


# Properties whose entries extend the schema default (see config_defaults.py), and what their entries name: the
# offline host refuses an entry naming no region, model or role it knows.
ALLOW_LISTS: dict[str, str | None] = {
    "allowedBypass": None, "allowedIdentityTypes": None, "approvedFqdnSuffixes": None, "allowedKinds": None,
    "allowedSkus": None, "approvedSubnetIds": None, "approvedVnetIdPrefixes": None, "allowedKeyTypes": None,
    "allowedKeySizes": None, "allowedRegions": "region", "externalWorkspaceLocations": None, "allowedModels": "model",
    "allowedFormats": None, "allowedModes": None, "approvedWorkspaceIds": None, "approvedActionGroupIds": None,
    "allowedDynamicSensitivities": None, "allowedTagValues": None, "allowedLocations": "region",
    "approvedSinkIds": None, "allowedTypes": None, "additionalAllowedTypes": None, "allowedIgnoreChanges": None,
    "approvedIdentityIds": None, "allowedRolesByScope": "role", "allowedOtherScopeGrants": "role",
    "breakGlassPrincipalIds": None, "allowedPrincipalTypes": None, "allowedInboundSources": None,
    "approvedNsgIds": None, "allowedIpRules": None, "allowedVirtualNetworkSubnetIds": None,
    "allowedRemoteVnetIds": None, "allowedKeyOps": None, "additionalRoleIds": None,
}


class Config:
    """A policy's config: the schema's defaults overlaid with what the CLI or a host passed (config_defaults.py, the
    one place that rule lives), allow-lists extended by their defaults unless `replace` names them.

    The CLI applies schema defaults before configuring the pack, but the SDK does not: applying them here makes the
    policy behave the same under both. `problems` are what the CLI would pass on silently: a property the schema does
    not declare (a typo), or a `replace` entry that names no allow-list.
    """

    def __init__(self, given: Mapping[str, Any] | None, schema: Schema):
        given = dict(given or {})
        self._values: dict[str, Any] = effective(schema, with_defaults(schema, given))
        self.problems: list[tuple[str, str]] = []  # (property, what is wrong)
        for key in sorted(k for k in given if k not in ("enforcementLevel", REPLACE) and k not in schema):
            hint = difflib.get_close_matches(key, list(schema), n=1)
            self.problems.append((key, f"{show(key)} is not one of its properties"
                                 + (f" (did you mean {show(hint[0])}?)" if hint else "")
                                 + "; the Pulumi CLI passes it on silently, so the setting meant is not applied"))
        lists = set(allow_lists(schema))
        for name in items(given.get(REPLACE)):
            if name not in lists:
                self.problems.append((REPLACE, f"{REPLACE} names {show(name)}, which is not one of its allow-lists "
                                      + (f"({names(sorted(lists))})" if lists else "(it has none)")))

    def __getitem__(self, key: str) -> Any:
        # A copy: one Config serves every resource of a run (ConfigCache), so no check may change what it holds.
        return copy.deepcopy(self._values[key])

    def strings(self, key: str) -> list[str]:
        """A list-of-strings property."""
        return [str(v) for v in items(self._values[key])]

    def numbers(self, key: str) -> list[float]:
        """A list-of-numbers property, as floats."""
        return [float(v) for v in items(self._values[key]) if number(v) is not None]

    def flag(self, key: str) -> bool:
        """A boolean property."""
        return bool(self._values[key])

    def number(self, key: str) -> float:
        """A numeric property, as float."""
        return float(self._values[key])

    def text(self, key: str) -> str:
        """A string property."""
        return str(self._values[key])

    def table(self, key: str) -> dict[str, list[str]]:
        """A map-of-lists property."""
        value = self._values[key]
        return {str(k): [str(v) for v in items(vs)] for k, vs in value.items()} if isinstance(value, Mapping) else {}

    def mapping(self, key: str) -> dict[str, str]:
        """A map-of-strings property."""
        value = self._values[key]
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    def exempt(self, name: str, urn: str) -> bool:
        """True when the resource is on this policy's reviewed exemption list (by Pulumi name or URN)."""
        waived = set(self.strings(EXEMPTIONS)) if EXEMPTIONS in self._values else set()
        return name in waived or urn in waived


class ConfigCache:
    """A policy's Config, built once per configuration. The SDK hands each call a fresh shallow copy of the same
    config (pulumi_policy/policy.py, `_get_policy_config`): equal to the last one, the Config built for it is reused,
    instead of copying every default for every resource and policy (half of a check's time)."""

    def __init__(self, schema: Schema):
        self._schema = schema
        self._given: dict[str, Any] | None = None
        self._config: Config | None = None

    def get(self, given: Mapping[str, Any] | None) -> Config:
        """The Config for `given`, rebuilt only when it differs from the last one."""
        current = dict(given or {})
        if self._config is None or current != self._given:
            self._config, self._given = Config(current, self._schema), current
        return self._config


# --- policy factories -------------------------------------------------------------------------------------------

class Violation(NamedTuple):
    """A stack policy's finding: the message and the URN of the resource it is about."""

    message: str
    urn: str | None


ResourceCheck = Callable[[ResourceValidationArgs, Config], Iterable[str]]
StackCheck = Callable[[Stack, Config], Iterable[Violation]]


def cannot_read(policy: str, who: str, error: Exception) -> str:
    """The violation a policy reports instead of crashing on a value of an unexpected shape: it refuses rather than
    guesses, and points at the rule that names the malformed property."""
    return (f"Correct the malformed properties of {who}: policy {policy} could not evaluate them "
            f"({type(error).__name__}: {error}) and refuses the resource rather than guess; "
            f"aoai-property-shapes names each property whose JSON type is wrong.")


def _schema(config: Schema) -> Schema:
    """The policy's properties, its allow-lists marked, plus the two every policy takes: exemptions and `replace`."""
    schema = {key: ({**spec, ALLOW_LIST: True, **({VOCABULARY: ALLOW_LISTS[key]} if ALLOW_LISTS[key] else {})}
                    if key in ALLOW_LISTS else dict(spec)) for key, spec in config.items()}
    schema[EXEMPTIONS] = string_list(
        "Pulumi names or URNs of resources this policy skips: a reviewed, recorded waiver.", [])
    lists = allow_lists(schema)
    if lists:
        schema[REPLACE] = {"type": "array", "items": {"type": "string", "enum": lists}, "default": [],
                           "description": "Allow-lists given here that replace the default list instead of "
                                          "extending it."}
    return schema


def _config_problem(policy: str, problem: tuple[str, str]) -> str:
    key, what = problem
    return f"Correct the policy config of {policy}: {what}.\n{config_where(policy, key)}"


def _framework(meta: PolicyMeta) -> PolicyComplianceFramework:
    # The SDK takes one framework per policy: NIST 800-53 (the FedRAMP baseline) as primary, the rest in the text.
    return PolicyComplianceFramework(name="NIST SP 800-53 (FedRAMP)", version="Rev. 5",
                                     reference=", ".join(meta.controls.nist) or "-",
                                     specification=meta.controls.summary())


def _tags(meta: PolicyMeta) -> list[str]:
    """What GetAnalyzerInfo announces beyond the SDK's fields, so a host needs nothing but the protocol: the concern,
    `control:<review control>`, `<framework>:<control>` per framework reference, and `checkov:`, `azure-policy:` and
    `psrule:` for each outside rule that checks the same thing."""
    return [meta.concern, f"control:{meta.control}",
            *[f"{fw}:{c}" for fw, cs in meta.controls.by_framework().items() for c in cs],
            *[f"checkov:{r}" for r in meta.checkov], *[f"azure-policy:{r}" for r in meta.azure_policy],
            *[f"psrule:{r}" for r in meta.psrule]]


def resource_policy(meta: PolicyMeta, description: str, resource_types: Collection[str] | None, config: Schema,
                    check: ResourceCheck,
                    enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY) -> ResourceValidationPolicy:
    """A policy over one resource's inputs, run for the given types only (None: every type); `check` yields
    violation messages."""
    register(meta)
    schema = _schema(config)
    types = None if resource_types is None else frozenset(canonical_type(t) for t in resource_types)

    configs = ConfigCache(schema)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        canonical = canonical_type(args.resource_type)
        cfg = configs.get(args.get_config())
        if canonical == ROOT_STACK:  # the engine analyzes the root stack once: config problems are reported there
            for problem in cfg.problems:
                report_violation(_config_problem(meta.name, problem), None)
        if types is not None and canonical not in types:
            return
        if cfg.exempt(args.name, args.urn):
            return
        if canonical != args.resource_type:
            args = ResourceValidationArgs(canonical, args.props, args.urn, args.name, args.opts, args.provider,
                                          args.get_config(), args.stack_tags)
        try:
            for message in check(args, cfg):
                report_violation(f"{message}\n{where(meta.name)}", None)
        except UnknownValueError:
            raise  # the SDK reports "can't run during preview" for a value computed at update time
        except Exception as error:  # a malformed value fails the check, never the preview
            report_violation(f"{cannot_read(meta.name, subject(canonical, args.name), error)}\n{where(meta.name)}",
                             None)

    return ResourceValidationPolicy(
        name=meta.name, description=description, validate=validate, enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(properties=schema), display_name=meta.display_name, severity=meta.severity,
        framework=_framework(meta), tags=_tags(meta), remediation_steps=meta.remediation)


def stack_policy(meta: PolicyMeta, description: str, config: Schema, check: StackCheck,
                 enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY) -> StackValidationPolicy:
    """A policy over the whole stack's outputs; `check` yields (message, urn) violations."""
    register(meta)
    schema = _schema(config)

    configs = ConfigCache(schema)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        cfg = configs.get(args.get_config())
        for problem in cfg.problems:
            report_violation(_config_problem(meta.name, problem), None)
        waived = {r.urn for r in args.resources if cfg.exempt(r.name, r.urn)}
        try:
            for violation in check(Stack(args.resources), cfg):
                if violation.urn not in waived:
                    report_violation(f"{violation.message}\n{where(meta.name)}", violation.urn)
        except UnknownValueError:
            raise
        except Exception as error:  # as in resource_policy
            report_violation(f"{cannot_read(meta.name, 'a resource of this stack', error)}\n{where(meta.name)}",
                             None)

    return StackValidationPolicy(
        name=meta.name, description=description, validate=validate, enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(properties=schema), display_name=meta.display_name, severity=meta.severity,
        framework=_framework(meta), tags=_tags(meta), remediation_steps=meta.remediation)
