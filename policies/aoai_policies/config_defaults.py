"""How a policy's configuration is assembled: written once, used by the pack, the offline host and the tests.

The Pulumi CLI, not the policy SDK, applies the schema defaults (pulumi/pulumi pkg/resource/analyzer/config.go
`ReconcilePolicyPackConfig`, read 2026-11-30): each policy starts from its own enforcement level and its schema's
`default`s, then the pack's initial config, then the `--policy-pack-config` file are applied, where `all` sets every
policy's level and a policy's entry is a level or an object whose properties replace the defaults key by key. The
pack applies the same defaults itself (a policy called without the CLI still sees a whole config), the offline host
reconciles a config file as the CLI does, and the test harnesses build what the CLI would send: all three call
`reconcile` / `with_defaults` here, so the rule cannot drift between them.

On top of the CLI's rule the pack reads its allow-lists its own way (`effective`): a property whose schema carries
`"x-aoai-allowList": true` extends its default (a stack adds a model version, a role or a region without restating
the rest), unless the policy's entry lists the property under `replace`, which makes the given value the whole list.

Standard library only: offline/ loads this file by path, and the pack must not need anything the CLI lacks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
LEVEL = "enforcementLevel"
ALL = "all"
EXEMPTIONS = "exemptResources"
REPLACE = "replace"
ALLOW_LIST = "x-aoai-allowList"
"""Schema marker: an allow-list whose given entries extend the default ones (unless named under `replace`)."""
VOCABULARY = "x-aoai-vocabulary"
"""Schema marker: what an allow-list's entries name (region, model, role, sku, ...); the offline host refuses an entry
that names nothing of that kind, with the closest real name."""

Properties = Mapping[str, Any]


class Entry(NamedTuple):
    """One policy's configuration: its enforcement level ('' when none was given) and its properties."""

    level: str
    properties: dict[str, Any]


class PolicyDefaults(NamedTuple):
    """What the CLI learns of a policy from GetAnalyzerInfo: its name, level and config schema properties."""

    name: str
    level: str
    properties: Properties


class ConfigError(ValueError):
    """A policy config document the CLI would refuse while parsing it (the CLI's own wording)."""


def schema_defaults(properties: Properties) -> dict[str, Any]:
    """Every property's `default`, copied (`createConfigWithDefaults`)."""
    return {key: copy.deepcopy(spec["default"]) for key, spec in properties.items()
            if isinstance(spec, Mapping) and "default" in spec}


def with_defaults(properties: Properties, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """One policy's properties as the CLI sends them: the schema defaults, each replaced by a given value."""
    values = schema_defaults(properties)
    values.update({key: copy.deepcopy(value) for key, value in (given or {}).items() if key != LEVEL})
    return values


def parse_entries(document: Any) -> dict[str, Entry]:
    """A `--policy-pack-config` document as the CLI parses it (`parsePolicyPackConfig`): per name a level string or
    an object with an optional `enforcementLevel`; entries with neither a level nor properties are dropped."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError("must be a JSON object of policy name -> enforcement level or object")
    result: dict[str, Entry] = {}
    for name, value in document.items():
        if isinstance(value, str):
            if value not in ENFORCEMENT_LEVELS:
                raise ConfigError(f"parsing enforcement level for {name!r}: {value!r} is not a valid enforcement "
                                  f"level (one of {', '.join(ENFORCEMENT_LEVELS)})")
            entry = Entry(value, {})
        elif isinstance(value, Mapping):
            properties = dict(value)
            level = properties.pop(LEVEL, "")
            if not isinstance(level, str):
                raise ConfigError(f"parsing enforcement level for {name!r}: {level!r} is not a valid enforcement "
                                  "level; must be a string")
            if level and level not in ENFORCEMENT_LEVELS:
                raise ConfigError(f"parsing enforcement level for {name!r}: {level!r} is not a valid enforcement "
                                  f"level (one of {', '.join(ENFORCEMENT_LEVELS)})")
            entry = Entry(level, properties)
        else:
            raise ConfigError(f"parsing {name!r}: {value!r} is not a valid value; must be a string or object")
        if entry.level or entry.properties:
            result[str(name)] = entry
    return result


def reconcile(policies: Iterable[PolicyDefaults], *layers: Mapping[str, Entry]) -> dict[str, Entry]:
    """`ReconcilePolicyPackConfig` without its validation: defaults, then each layer (the pack's initial config, the
    config file) in order. A name that is no policy (a typo, or `all` itself) is passed through as the CLI does."""
    result = {p.name: Entry(p.level, schema_defaults(p.properties)) for p in policies}
    for layer in layers:
        everyone = layer.get(ALL)
        if everyone is not None and everyone.level:
            result = {name: Entry(everyone.level, entry.properties) for name, entry in result.items()}
        for name, given in layer.items():
            current = result.get(name, Entry("", {}))
            result[name] = Entry(given.level or current.level,
                                 {**current.properties, **copy.deepcopy(given.properties)})
    return result


def allow_lists(properties: Properties) -> list[str]:
    """The properties that extend their default unless replaced."""
    return sorted(key for key, spec in properties.items() if isinstance(spec, Mapping) and spec.get(ALLOW_LIST))


def effective(properties: Properties, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a policy acts on: each allow-list is its default extended by the given entries (a list gains the
    new items, a map the new keys, and a map's lists their new items), unless `replace` names it."""
    result = dict(values)
    replaced = {str(v) for v in values.get(REPLACE) or () if isinstance(v, str)}
    for key in allow_lists(properties):
        if key in replaced or key not in values:
            continue
        result[key] = extend(properties[key].get("default"), values[key])
    return result


def extend(default: Any, given: Any) -> Any:
    """`default` with `given` added: lists keep the default's order then the new items, maps merge key by key."""
    if isinstance(default, list) and isinstance(given, list):
        return [*default, *(item for item in given if item not in default)]
    if isinstance(default, Mapping) and isinstance(given, Mapping):
        merged = {key: copy.deepcopy(value) for key, value in default.items()}
        for key, value in given.items():
            merged[key] = extend(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(given)


def unknown_properties(properties: Properties, given: Mapping[str, Any]) -> list[str]:
    """Given property names the schema does not declare (a typo the CLI would pass on silently)."""
    return sorted(key for key in given if key != LEVEL and key not in properties)
