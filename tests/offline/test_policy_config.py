"""Policy config is merged as the Pulumi CLI merges it: schema defaults, the pack's initial config, then the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.policy_config import (
    PolicyConfig,
    PolicyConfigError,
    PolicySchema,
    parse_policy_config,
    reconcile,
    validate,
)

POLICIES = [
    PolicySchema("a", "mandatory", {"min": {"type": "integer", "minimum": 1, "default": 90},
                                    "regions": {"type": "array", "items": {"type": "string"}, "default": ["x"]}}),
    PolicySchema("b", "advisory", {"mode": {"type": "string", "enum": ["strict", "loose"], "default": "strict"}}),
    PolicySchema("c", "mandatory"),
]


def test_schema_defaults_and_levels_apply_without_a_file() -> None:
    merged = reconcile(POLICIES, {}, {})
    assert merged["a"] == PolicyConfig("mandatory", {"min": 90, "regions": ["x"]})
    assert merged["b"] == PolicyConfig("advisory", {"mode": "strict"})
    assert merged["c"] == PolicyConfig("mandatory", {})


def test_all_sets_every_level_and_per_policy_entries_win() -> None:
    given = parse_policy_config('{"all": "advisory", "c": "disabled", "a": {"enforcementLevel": "mandatory"}}', "f")
    merged = reconcile(POLICIES, {}, given)
    assert (merged["a"].enforcement_level, merged["b"].enforcement_level, merged["c"].enforcement_level) == \
        ("mandatory", "advisory", "disabled")


def test_properties_merge_key_by_key_over_the_defaults() -> None:
    merged = reconcile(POLICIES, {}, parse_policy_config('{"a": {"min": 365}}', "f"))
    assert merged["a"] == PolicyConfig("mandatory", {"min": 365, "regions": ["x"]})


def test_initial_config_sits_between_defaults_and_the_file() -> None:
    initial = {"a": PolicyConfig("advisory", {"min": 30})}
    assert reconcile(POLICIES, initial, {})["a"] == PolicyConfig("advisory", {"min": 30, "regions": ["x"]})
    file = parse_policy_config('{"a": {"min": 60}}', "f")
    assert reconcile(POLICIES, initial, file)["a"] == PolicyConfig("advisory", {"min": 60, "regions": ["x"]})


def test_values_that_break_a_schema_are_all_reported() -> None:
    given = parse_policy_config('{"a": {"min": 0, "regions": "x"}, "b": {"mode": "off"}}', "f")
    with pytest.raises(PolicyConfigError) as error:
        reconcile(POLICIES, {}, given)
    text = str(error.value)
    assert "a: min: must be greater than or equal to 1" in text
    assert "a: regions: invalid type, expected array, given string" in text
    assert 'b: mode: must be one of "strict", "loose"' in text


@pytest.mark.parametrize("document, message", [
    ('{"a": "sometimes"}', "'sometimes' is not a valid enforcement level"),
    ('{"a": {"enforcementLevel": 3}}', "enforcementLevel 3 must be a string"),
    ('{"a": 5}', "is not a valid value; must be a string or object"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_malformed_config_is_refused_with_the_reason(document: str, message: str) -> None:
    with pytest.raises(PolicyConfigError, match=r"^f: ") as error:
        parse_policy_config(document, "f")
    assert message in str(error.value)


def test_an_empty_file_is_no_config() -> None:
    assert parse_policy_config("  \n", "f") == {}


def test_validator_covers_the_keywords_policy_schemas_use() -> None:
    schema = {"type": "object", "required": ["n"], "additionalProperties": False,
              "properties": {"n": {"type": "number", "maximum": 5}, "s": {"type": "string", "pattern": "^a"},
                             "l": {"type": "array", "minItems": 1, "uniqueItems": True}}}
    assert validate(schema, {"n": 1, "s": "abc", "l": [1]}) == []
    errors = validate(schema, {"s": "b", "l": [1, 1], "x": 1})
    assert "(root): n is required" in errors
    assert any("does not match pattern" in e for e in errors)
    assert any("unique" in e for e in errors)
    assert any("additional property x" in e for e in errors)
    assert validate({"type": "integer"}, True) != [], "a boolean is not an integer"


def test_the_real_config_files_parse() -> None:
    for path in sorted((Path(__file__).resolve().parents[2] / "policies" / "config").glob("*.json")):
        assert parse_policy_config(path.read_text(), str(path)), path
