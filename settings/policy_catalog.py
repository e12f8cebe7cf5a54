"""The catalogue of Azure Policy built-in definitions the guardrails may assign, and the controls that assign them.

The facts (ids, display names, versions, allowed effects, parameters) live in `data/policy_definitions.json`, each
with the Microsoft source it was verified against and the date. This module loads that file once and checks it whole:
a malformed entry (a short id, an effect parameter that does not list the effects, a control naming a deprecated or
unknown definition) is reported as a settings problem naming the file, so the program stops before it registers
anything rather than assigning a definition Azure does not have.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .reader import SettingsError

CATALOG_FILE = Path(__file__).resolve().parent / "data" / "policy_definitions.json"
DEFINITION_PREFIX = "/providers/Microsoft.Authorization/policyDefinitions/"
# Every effect Azure Policy knows; only Audit, AuditIfNotExists and Deny are ever assigned here, because they need no
# managed identity on the assignment (Modify and DeployIfNotExists do, with a role on the scope).
KNOWN_EFFECTS = frozenset({"Audit", "AuditIfNotExists", "Deny", "DenyAction", "Disabled", "Modify",
                           "DeployIfNotExists", "Append", "Manual"})
AUDIT_EFFECTS = ("Audit", "AuditIfNotExists")
_GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_VERSION_RE = re.compile(r"^(\d+)\.\d+\.\d+(-[a-z]+)?$")
_KEY_RE = re.compile(r"^[a-z][A-Za-z]+$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,11}$")
# Parameters the program computes from the stack's settings (settings/guardrails.py `_parameters`).
_COMPUTED_PARAMETERS = frozenset({"listOfAllowedLocations", "minimumDaysBeforeExpiration", "excludedKinds"})


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter of a built-in definition: its type, the values it allows and whether it has a default."""

    type: str
    required: bool
    allowed_values: tuple[Any, ...] | None = None
    default: Any = None
    deprecated: bool = False


@dataclass(frozen=True)
class BuiltinDefinition:
    """One built-in policy definition as Microsoft publishes it."""

    id: str
    display_name: str
    version: str
    category: str
    mode: str
    resource_types: tuple[str, ...]
    effect_parameter: str
    effects: tuple[str, ...]
    parameters: Mapping[str, ParameterSpec]
    deprecated: bool
    source: str
    not_used: str | None = None

    @property
    def definition_id(self) -> str:
        """The id an assignment names: built-ins live at the tenant root, not in a subscription."""
        return DEFINITION_PREFIX + self.id

    @property
    def version_pin(self) -> str:
        """The assignment's definitionVersion: the major version we verified, minor updates allowed (e.g. 1.*.*)."""
        match = _VERSION_RE.match(self.version)
        return f"{match.group(1) if match else '1'}.*.*"

    def effect(self, level: str, max_effect: str | None = None) -> str:
        """The effect to assign at `level` (enforce or audit): Deny where the definition allows it and the control is
        not capped, otherwise the definition's audit effect."""
        if level == "enforce" and "Deny" in self.effects and max_effect is None:
            return "Deny"
        return next(e for e in AUDIT_EFFECTS if e in self.effects)

    @property
    def can_deny(self) -> bool:
        return "Deny" in self.effects


@dataclass(frozen=True)
class GuardrailControl:
    """A control of the policy pack that a built-in definition enforces at runtime."""

    key: str
    name: str
    title: str
    definition: str
    mirrors: tuple[str, ...]
    max_effect: str | None = None
    max_effect_reason: str = ""


@dataclass(frozen=True)
class PolicyCatalog:
    """The verified built-in definitions by id, the guardrail controls by key, and the pack policies no built-in
    mirrors (with why)."""

    verified_on: str
    definitions: Mapping[str, BuiltinDefinition]
    controls: Mapping[str, GuardrailControl]
    uncovered: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def definition_of(self, control: str) -> BuiltinDefinition:
        return self.definitions[self.controls[control].definition]


@functools.cache
def load_catalog(path: Path = CATALOG_FILE) -> PolicyCatalog:
    """Read and validate the catalogue; SettingsError listing every problem (each naming the file) if it is bad."""
    where = path.name
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError([f"{where}: cannot be read as JSON ({exc})"]) from exc
    problems: list[str] = []
    catalog = parse_catalog(raw, problems, where)
    if problems:
        raise SettingsError(problems)
    return catalog


def parse_catalog(raw: Any, problems: list[str], where: str = "policy_definitions.json") -> PolicyCatalog:
    """The catalogue in `raw`, appending a problem for each entry that is not as Microsoft publishes it."""
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: is not a JSON object with definitions, controls and uncovered")
        return PolicyCatalog("", {}, {})
    verified = raw.get("verifiedOn")
    try:
        dt.date.fromisoformat(str(verified))
    except ValueError:
        problems.append(f"{where}: verifiedOn {verified!r} is not a date YYYY-MM-DD")
    definitions: dict[str, BuiltinDefinition] = {}
    for i, entry in enumerate(_list(raw.get("definitions"))):
        found = _definition(entry, f"{where}: definitions[{i}]", problems)
        if found is not None:
            if found.id in definitions:
                problems.append(f"{where}: definitions[{i}].id {found.id!r} is listed twice")
            definitions[found.id] = found
    controls: dict[str, GuardrailControl] = {}
    for i, entry in enumerate(_list(raw.get("controls"))):
        control = _control(entry, f"{where}: controls[{i}]", definitions, problems)
        if control is not None:
            if control.key in controls or control.name in {c.name for c in controls.values()}:
                problems.append(f"{where}: controls[{i}] {control.key!r} repeats a key or name")
            controls[control.key] = control
    uncovered = tuple((str(u.get("policy")), str(u.get("reason"))) for u in _list(raw.get("uncovered"))
                      if isinstance(u, Mapping))
    return PolicyCatalog(str(verified), definitions, controls, uncovered)


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _definition(entry: Any, key: str, problems: list[str]) -> BuiltinDefinition | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{key}: is not an object")
        return None
    before = len(problems)
    gid = entry.get("id")
    if not isinstance(gid, str) or not _GUID_RE.match(gid):
        problems.append(f"{key}.id: {gid!r} is not a full lower-case GUID (built-in definition names are GUIDs)")
    version = entry.get("version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        problems.append(f"{key}.version: {version!r} is not a version such as 1.1.0")
    effects = entry.get("effects")
    if not isinstance(effects, list) or not effects or not set(effects) <= KNOWN_EFFECTS:
        problems.append(f"{key}.effects: {effects!r} is not a list of Azure Policy effects "
                        f"({', '.join(sorted(KNOWN_EFFECTS))})")
        effects = []
    parameters: dict[str, ParameterSpec] = {}
    for name, spec in (entry.get("parameters") or {}).items():
        if not isinstance(spec, Mapping) or "type" not in spec or not isinstance(spec.get("required"), bool):
            problems.append(f"{key}.parameters.{name}: needs a type and required (true or false)")
            continue
        allowed = spec.get("allowedValues")
        parameters[name] = ParameterSpec(str(spec["type"]), spec["required"],
                                         tuple(allowed) if isinstance(allowed, list) else None,
                                         spec.get("defaultValue"), bool(spec.get("deprecated", False)))
    effect_parameter = entry.get("effectParameter")
    spec = parameters.get(str(effect_parameter))
    if spec is None or spec.allowed_values is None or list(spec.allowed_values) != list(effects):
        problems.append(f"{key}.effectParameter: {effect_parameter!r} must name a parameter whose allowedValues are "
                        f"the effects {effects!r}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.startswith("https://"):
        problems.append(f"{key}.source: {source!r} is not the https URL it was verified against")
    types = entry.get("resourceTypes")
    if not isinstance(types, list) or not types:
        problems.append(f"{key}.resourceTypes: {types!r} is not a list of the resource types the rule matches")
    for text in ("displayName", "category", "mode"):
        if not isinstance(entry.get(text), str) or not entry.get(text):
            problems.append(f"{key}.{text}: is required")
    if len(problems) > before:
        return None
    return BuiltinDefinition(
        id=str(gid), display_name=entry["displayName"], version=str(version), category=entry["category"],
        mode=entry["mode"], resource_types=tuple(map(str, types or ())), effect_parameter=str(effect_parameter),
        effects=tuple(effects), parameters=parameters, deprecated=bool(entry.get("deprecated", False)),
        source=str(source), not_used=entry.get("notUsed"))


def _control(entry: Any, key: str, definitions: Mapping[str, BuiltinDefinition],
             problems: list[str]) -> GuardrailControl | None:
    if not isinstance(entry, Mapping):
        problems.append(f"{key}: is not an object")
        return None
    before = len(problems)
    if not isinstance(entry.get("key"), str) or not _KEY_RE.match(entry["key"]):
        problems.append(f"{key}.key: {entry.get('key')!r} is not a camelCase control key")
    if not isinstance(entry.get("name"), str) or not _NAME_RE.match(entry["name"]):
        problems.append(f"{key}.name: {entry.get('name')!r} is not 2-12 lower-case letters, digits or '-' "
                        "(part of the assignment name)")
    definition = definitions.get(str(entry.get("definition")))
    if definition is None:
        problems.append(f"{key}.definition: {entry.get('definition')!r} is not a definition of this catalogue")
    else:
        problems.extend(f"{key}.definition: {entry['definition']!r} {why}" for why in unusable(definition))
    mirrors = entry.get("mirrors")
    if not isinstance(mirrors, list) or not mirrors or not all(str(m).startswith("aoai-") for m in mirrors):
        problems.append(f"{key}.mirrors: {mirrors!r} must name the pack policies (aoai-...) the control mirrors")
    cap = entry.get("maxEffect")
    if cap is not None and (cap not in AUDIT_EFFECTS or not entry.get("maxEffectReason")):
        problems.append(f"{key}.maxEffect: {cap!r} must be Audit or AuditIfNotExists, with a maxEffectReason")
    if len(problems) > before:
        return None
    return GuardrailControl(entry["key"], entry["name"], str(entry.get("title", entry["key"])), entry["definition"],
                            tuple(map(str, mirrors or ())), cap, str(entry.get("maxEffectReason", "")))


def unusable(definition: BuiltinDefinition) -> list[str]:
    """Why a definition cannot be assigned by a guardrail ([] when it can)."""
    reasons = []
    if definition.deprecated:
        reasons.append("is deprecated by Microsoft")
    if definition.not_used:
        reasons.append(f"is not assignable here: {definition.not_used}")
    if not any(e in definition.effects for e in AUDIT_EFFECTS):
        reasons.append(f"offers no Audit or AuditIfNotExists effect (it offers {', '.join(definition.effects)})")
    required = [n for n, p in definition.parameters.items() if p.required and n not in _COMPUTED_PARAMETERS]
    if required:
        reasons.append(f"needs parameters the program does not compute ({', '.join(required)})")
    return reasons

