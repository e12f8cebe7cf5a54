"""Policy pack configuration, merged exactly as the Pulumi CLI merges it before it calls `Configure`, and checked more
strictly than the CLI checks it.

The merge is the CLI's `ReconcilePolicyPackConfig` (pkg/resource/analyzer/config.go, read 2026-11-30): schema
defaults and each policy's level, then the pack's `initial_config`, then the `--policy-pack-config` file. That rule
lives once, in the pack's `aoai_policies/config_defaults.py`, loaded here by path (the pack must not import
offline/, and offline must not depend on the pack being importable as a package).

Validation uses JSON Schema (the `jsonschema` library, Draft 7: the CLI validates with gojsonschema, which speaks
drafts 4 to 7, on `{type: object, properties, required}` built from what the pack announces). On top of the CLI:
- a file that is not valid JSON, or repeats a key, names the line and column;
- a property a policy's schema does not declare is refused with the closest real name (the CLI passes it on, so a
  typo such as `minRetentionDay` would silently leave the default in force); so is a policy name the pack lacks;
- after the program ran, an exemption (`exemptResources`) naming no resource of the stack, and an allow-list entry
  naming no region, model or role the project knows, are refused (`check_references`).
Every problem names the file, the line and column, and the key as `<policy>.<property>`.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from .loader import Document, LoadError, Problem, load_json, load_json_text

RULES_FILE = Path(__file__).resolve().parent.parent / "policies" / "aoai_policies" / "config_defaults.py"


@cache
def rules() -> ModuleType:
    """The pack's config_defaults.py, loaded by path under a private name (no pulumi_policy import needed)."""
    spec = importlib.util.spec_from_file_location("_aoai_config_defaults", RULES_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ENFORCEMENT_LEVELS: tuple[str, ...] = rules().ENFORCEMENT_LEVELS


class PolicyConfigError(Exception):
    """The policy configuration cannot be used: unreadable, malformed, or invalid against a policy's schema."""

    def __init__(self, problems: Sequence[Problem] | str):
        self.problems = (Problem("", problems),) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(str(p) if p.file else p.message for p in self.problems))


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


@dataclass(frozen=True)
class PolicyConfigFile:
    """A config file as read: its entries and the document (for positions)."""

    document: Document
    entries: dict[str, PolicyConfig]


def _entries(document: Document) -> dict[str, PolicyConfig]:
    try:
        parsed = rules().parse_entries(document.value)
    except rules().ConfigError as error:
        raise PolicyConfigError([document.problem(str(error))]) from error
    return {name: PolicyConfig(entry.level, entry.properties) for name, entry in parsed.items()}


def parse_policy_config(text: str, source: str) -> dict[str, PolicyConfig]:
    """Parse a `--policy-pack-config` document. An empty document is no config, as for the CLI."""
    return read_policy_config_text(text, source).entries


def read_policy_config_text(text: str, source: str) -> PolicyConfigFile:
    """Parse a config document, keeping where each key is written."""
    if not text.strip():
        return PolicyConfigFile(Document(source, {}), {})
    try:
        document = load_json_text(text, source)
    except LoadError as error:
        raise PolicyConfigError(error.problems) from error
    return PolicyConfigFile(document, _entries(document))


def read_policy_config(path: Path, display: str | None = None) -> PolicyConfigFile:
    """Read and parse a policy config file; a missing or unreadable file is a configuration error."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise PolicyConfigError([Problem(name, f"cannot read the policy config ({error.strerror or error})")]) \
            from error
    if not text.strip():
        return PolicyConfigFile(Document(name, {}), {})
    try:
        document = load_json(path, name)
    except LoadError as error:
        raise PolicyConfigError(error.problems) from error
    return PolicyConfigFile(document, _entries(document))


def load_policy_config(path: Path, display: str | None = None) -> dict[str, PolicyConfig]:
    """A config file's entries (see `read_policy_config`)."""
    return read_policy_config(path, display).entries


def reconcile(policies: Iterable[PolicySchema], initial: Mapping[str, PolicyConfig],
              given: Mapping[str, PolicyConfig], source: Document | None = None) -> dict[str, PolicyConfig]:
    """Defaults, then `initial`, then `given`, as `ReconcilePolicyPackConfig` does; then the CLI's validation of the
    result, every error reported (with positions in `source` when given)."""
    policies = list(policies)
    r = rules()

    def layer(entries: Mapping[str, PolicyConfig]) -> dict[str, Any]:
        return {name: r.Entry(c.enforcement_level, dict(c.properties)) for name, c in entries.items()}

    merged = r.reconcile([r.PolicyDefaults(p.name, p.enforcement_level, p.properties) for p in policies],
                         layer(initial), layer(given))
    result = {name: PolicyConfig(entry.level, entry.properties) for name, entry in merged.items()}
    problems: list[Problem] = []
    document = source or Document("", {})
    for policy in sorted(policies, key=lambda p: p.name):
        if not policy.properties and not policy.required:
            continue
        schema = {"type": "object", "properties": policy.properties, "required": list(policy.required)}
        found = validate(schema, result[policy.name].properties)
        problems += [_problem(document, policy.name, error) for error in found]
    if problems:
        raise PolicyConfigError(problems)
    return result


def check_file(file: PolicyConfigFile, policies: Iterable[PolicySchema], pack_name: str) -> None:
    """The stricter checks of the file's own entries: every name a policy of the pack (or `all`), every property one
    its schema declares, every value of the declared shape."""
    known = {p.name: p for p in policies}
    document = file.document
    problems: list[Problem] = []
    for name, entry in file.entries.items():
        if name == rules().ALL:
            if entry.properties:
                problems.append(document.problem("takes an enforcement level only", name))
            continue
        policy = known.get(name)
        if policy is None:
            hint = difflib.get_close_matches(name, list(known), n=1)
            problems.append(document.problem(
                f"no policy of pack {pack_name} has this name"
                + (f"; did you mean {hint[0]!r}?" if hint else " (a typo leaves the intended policy at its default)"),
                name))
            continue
        schema = {"type": "object", "properties": policy.properties, "additionalProperties": False}
        problems += [_problem(document, name, error) for error in validate(schema, entry.properties)]
    if problems:
        raise PolicyConfigError(problems)


def validate(schema: Mapping[str, Any], value: Any) -> list[ValidationError]:
    """Every JSON Schema (Draft 7) error of `value`, in document order."""
    return sorted(Draft7Validator(schema).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])


def describe(error: ValidationError) -> str:
    """A validation error in an operator's words: what is wrong and what is allowed."""
    value, keyword, expected = error.instance, error.validator, error.validator_value
    shown = json.dumps(value)
    if keyword == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        hints = [difflib.get_close_matches(key, list(error.schema.get("properties", {})), n=1) for key in extra]
        return "; ".join(f"{key!r} is not a property of this policy" + (f" (did you mean {h[0]!r}?)" if h else "")
                         for key, h in zip(extra, hints, strict=True))
    if keyword == "type":
        kinds = " or ".join(_as_list(expected))
        return f"{shown} is {_article(_json_type(value))}, but {_article(kinds)} is expected"
    if keyword == "enum":
        hint = difflib.get_close_matches(str(value), [str(e) for e in expected], n=1)
        return (f"{shown} is not allowed (one of {', '.join(json.dumps(e) for e in expected)})"
                + (f"; did you mean {hint[0]!r}?" if hint else ""))
    if keyword == "minimum":
        return f"{shown} is below the minimum of {expected}"
    if keyword == "maximum":
        return f"{shown} is above the maximum of {expected}"
    if keyword == "required":
        return error.message
    if keyword == "pattern":
        return f"{shown} does not match the pattern {expected!r}"
    if keyword == "uniqueItems":
        return f"{shown} repeats an item"
    return error.message


def _problem(document: Document, policy: str, error: ValidationError) -> Problem:
    path = [policy, *error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path += extra[:1]
    return document.problem(describe(error), *path)


def _article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --- references: exemptions and allow-lists ----------------------------------------------------------------------

def check_references(file: PolicyConfigFile, policies: Iterable[PolicySchema], resources: Mapping[str, str],
                     vocabularies: Mapping[str, Iterable[str]]) -> None:
    """Refuse what matches nothing: an `exemptResources` entry that is neither the Pulumi name nor the URN of a
    resource of the stack (`resources`: name -> URN), and an allow-list entry that names no region, model or role of
    `vocabularies` (kind -> names; the schema's `x-aoai-vocabulary` says which kind a property holds)."""
    r = rules()
    known = {p.name: p for p in policies}
    names = set(resources) | set(resources.values())
    problems: list[Problem] = []
    document = file.document
    for policy, entry in file.entries.items():
        schema = known.get(policy)
        if schema is None:
            continue
        for index, waived in enumerate(entry.properties.get(r.EXEMPTIONS) or []):
            if waived not in names:
                hint = difflib.get_close_matches(str(waived), list(resources), n=1)
                problems.append(document.problem(
                    f"{waived!r} is no resource of this stack, so the exemption waives nothing"
                    + (f"; did you mean {hint[0]!r}?" if hint else " (give a Pulumi name or URN that `preview` "
                                                                    "lists)"), policy, r.EXEMPTIONS, index))
        for key, value in entry.properties.items():
            kind = (schema.properties.get(key) or {}).get(r.VOCABULARY)
            if not kind or kind not in vocabularies:
                continue
            vocabulary = sorted(set(vocabularies[kind]))
            lowered = {v.lower() for v in vocabulary}
            for path, word in _words(value, kind):
                if word.lower() not in lowered:
                    hint = difflib.get_close_matches(word, vocabulary, n=1)
                    problems.append(document.problem(
                        f"{word!r} is no {kind} the project knows, so this entry allows nothing"
                        + (f"; did you mean {hint[0]!r}?" if hint else f" ({kind}s: {', '.join(vocabulary[:8])}"
                                                                        f"{', ...' if len(vocabulary) > 8 else ''})"),
                        policy, key, *path))
    if problems:
        raise PolicyConfigError(problems)


def _words(value: Any, kind: str) -> list[tuple[tuple[str | int, ...], str]]:
    """The names an allow-list holds: list items; a map's keys for models (model -> versions), else the strings in
    its lists (scope -> roles)."""
    if isinstance(value, list):
        return [((i,), v) for i, v in enumerate(value) if isinstance(v, str)]
    if isinstance(value, Mapping):
        if kind == "model":
            return [((k,), str(k)) for k in value]
        return [((k, i), v) for k, vs in value.items() if isinstance(vs, list) for i, v in enumerate(vs)
                if isinstance(v, str)]
    return []
