"""Policy pack configuration, merged exactly as the Pulumi CLI merges it before it calls `Configure`.

The SDK does not apply a policy's `config_schema` defaults; the CLI does (pkg/resource/analyzer/config.go,
`ReconcilePolicyPackConfig`): defaults from each policy's schema and its enforcement level, then the pack's
`initial_config`, then the `--policy-pack-config` file, where `all` sets the level of every policy and a per-policy
entry is a level string or an object with `enforcementLevel` and properties (merged key by key over the defaults).
The result is validated against each policy's schema. Doing the same here means an offline verdict is the verdict
`pulumi preview --policy-pack-config` would reach.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PolicyConfigError(Exception):
    """The policy configuration cannot be used: unreadable, malformed, or invalid against a policy's schema."""


@dataclass(frozen=True)
class PolicyConfig:
    """One policy's configuration: enforcement level (empty when none was given) and properties."""

    enforcement_level: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySchema:
    """What the CLI learns of a policy from `GetAnalyzerInfo`: its name, level and config schema."""

    name: str
    enforcement_level: str
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()


def parse_policy_config(text: str, source: str) -> dict[str, PolicyConfig]:
    """Parse a `--policy-pack-config` document. An empty document is no config, as for the CLI."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PolicyConfigError(f"{source}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{source}: must be a JSON object of policy name -> level or object")
    result: dict[str, PolicyConfig] = {}
    for name, value in document.items():
        if isinstance(value, str):
            result[name] = PolicyConfig(_level(value, name, source))
        elif isinstance(value, dict):
            properties = dict(value)
            level = ""
            if "enforcementLevel" in properties:
                level = properties.pop("enforcementLevel")
                if not isinstance(level, str):
                    raise PolicyConfigError(f"{source}: {name}: enforcementLevel {level!r} must be a string")
                level = _level(level, name, source)
            result[name] = PolicyConfig(level, properties)
        else:
            raise PolicyConfigError(f"{source}: {name}: {value!r} is not a valid value; must be a string or object")
        if not result[name].enforcement_level and not result[name].properties:
            del result[name]  # the CLI drops empty entries
    return result


def load_policy_config(path: Path) -> dict[str, PolicyConfig]:
    """Read and parse a policy config file; a missing or unreadable file is a configuration error."""
    try:
        text = path.read_text()
    except OSError as error:
        raise PolicyConfigError(f"cannot read policy config {path}: {error.strerror or error}") from error
    return parse_policy_config(text, str(path))


def reconcile(policies: Iterable[PolicySchema], initial: Mapping[str, PolicyConfig],
              given: Mapping[str, PolicyConfig]) -> dict[str, PolicyConfig]:
    """Defaults, then `initial`, then `given`, as `ReconcilePolicyPackConfig` does; raises with every schema error."""
    policies = list(policies)
    result: dict[str, PolicyConfig] = {}
    for policy in policies:
        defaults = {k: v["default"] for k, v in policy.properties.items() if isinstance(v, dict) and "default" in v}
        result[policy.name] = PolicyConfig(policy.enforcement_level, defaults)
    for layer in (initial, given):
        result = _apply(result, layer)
    errors = []
    for policy in sorted(policies, key=lambda p: p.name):
        if not policy.properties and not policy.required:
            continue
        schema = {"type": "object", "properties": policy.properties, "required": list(policy.required)}
        errors += [f"{policy.name}: {e}" for e in validate(schema, result[policy.name].properties)]
    if errors:
        raise PolicyConfigError("the policy configuration is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    return result


def _apply(result: dict[str, PolicyConfig], layer: Mapping[str, PolicyConfig]) -> dict[str, PolicyConfig]:
    merged = dict(result)
    all_level = layer["all"].enforcement_level if "all" in layer else ""
    if all_level:
        merged = {name: PolicyConfig(all_level, config.properties) for name, config in merged.items()}
    # Like the CLI, an entry for a name that is not a policy (including "all" itself) is passed through as is.
    for name, config in layer.items():
        current = merged.get(name, PolicyConfig())
        merged[name] = PolicyConfig(config.enforcement_level or current.enforcement_level,
                                    {**current.properties, **config.properties})
    return merged


def _level(value: str, name: str, source: str) -> str:
    if value not in ENFORCEMENT_LEVELS:
        raise PolicyConfigError(f"{source}: {name}: {value!r} is not a valid enforcement level "
                                f"(one of {', '.join(ENFORCEMENT_LEVELS)})")
    return value


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "object": (dict,), "array": (list,), "null": (type(None),),
    "number": (int, float), "integer": (int, float),
}


def validate(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Validate `value` against the JSON Schema keywords policy config schemas use (type, enum, const, required,
    properties, additionalProperties, items, min/max, length, pattern, uniqueItems); no `jsonschema` dependency."""
    where = path or "(root)"
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, t) for t in names):
            return [f"{where}: invalid type, expected {' or '.join(names)}, given {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: must be one of {', '.join(json.dumps(v) for v in schema['enum'])}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: does not match {json.dumps(schema['const'])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: must be greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: must be less than or equal to {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: length must be greater than or equal to {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: length must be less than or equal to {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: does not match pattern {schema['pattern']!r}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{where}: array must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: array must have at most {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            errors.append(f"{where}: array items must be unique")
        if isinstance(schema.get("items"), Mapping):
            for i, item in enumerate(value):
                errors += validate(schema["items"], item, f"{path}.{i}" if path else str(i))
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(f"{where}: {key} is required")
        properties = schema.get("properties") or {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key in properties:
                errors += validate(properties[key], item, child)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: additional property {key} is not allowed")
            elif isinstance(schema.get("additionalProperties"), Mapping):
                errors += validate(schema["additionalProperties"], item, child)
    return errors


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES.get(name, (object,))) and not (name != "boolean" and isinstance(value, bool))


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__
