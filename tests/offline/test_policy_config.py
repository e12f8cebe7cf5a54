"""Policy config is merged as the Pulumi CLI merges it (schema defaults, the pack's initial config, then the file: the
rule that lives once in the pack's config_defaults.py) and validated with JSON Schema, more strictly than the CLI:
unknown properties and policy names are refused, and every problem names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.policy_config import (
    PolicyConfig,
    PolicyConfigError,
    PolicySchema,
    check_file,
    check_references,
    parse_policy_config,
    read_policy_config_text,
    reconcile,
    rules,
    validate,
)

POLICIES = [
    PolicySchema("a", "mandatory", {"min": {"type": "integer", "minimum": 1, "default": 90},
                                    "regions": {"type": "array", "items": {"type": "string"}, "default": ["x"],
                                                "x-aoai-allowList": True, "x-aoai-vocabulary": "region"},
                                    "exemptResources": {"type": "array", "items": {"type": "string"},
                                                        "default": []}}),
    PolicySchema("b", "advisory", {"mode": {"type": "string", "enum": ["strict", "loose"], "default": "strict"}}),
    PolicySchema("c", "mandatory"),
]


def test_schema_defaults_and_levels_apply_without_a_file() -> None:
    merged = reconcile(POLICIES, {}, {})
    assert merged["a"] == PolicyConfig("mandatory", {"min": 90, "regions": ["x"], "exemptResources": []})
    assert merged["b"] == PolicyConfig("advisory", {"mode": "strict"})
    assert merged["c"] == PolicyConfig("mandatory", {})


def test_all_sets_every_level_and_per_policy_entries_win() -> None:
    given = parse_policy_config('{"all": "advisory", "c": "disabled", "a": {"enforcementLevel": "mandatory"}}', "f")
    merged = reconcile(POLICIES, {}, given)
    assert (merged["a"].enforcement_level, merged["b"].enforcement_level, merged["c"].enforcement_level) == \
        ("mandatory", "advisory", "disabled")


def test_properties_merge_key_by_key_over_the_defaults() -> None:
    merged = reconcile(POLICIES, {}, parse_policy_config('{"a": {"min": 365}}', "f"))
    assert merged["a"] == PolicyConfig("mandatory", {"min": 365, "regions": ["x"], "exemptResources": []})


def test_initial_config_sits_between_defaults_and_the_file() -> None:
    initial = {"a": PolicyConfig("advisory", {"min": 30})}
    assert reconcile(POLICIES, initial, {})["a"].properties["min"] == 30
    file = parse_policy_config('{"a": {"min": 60}}', "f")
    assert reconcile(POLICIES, initial, file)["a"] == PolicyConfig("advisory", {"min": 60, "regions": ["x"],
                                                                                "exemptResources": []})


def test_the_offline_host_and_the_pack_share_one_defaults_rule() -> None:
    """offline/ loads the pack's config_defaults.py by path: the module the pack imports, not a copy."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "policies"))
    try:
        from aoai_policies import config_defaults
    finally:
        sys.path.pop(0)
    assert Path(rules().__file__).resolve() == Path(config_defaults.__file__).resolve()


def test_values_that_break_a_schema_are_all_reported_with_their_line() -> None:
    text = '{\n  "a": {"min": 0, "regions": "x"},\n  "b": {"mode": "strct"}\n}'
    file = read_policy_config_text(text, "cfg.json")
    with pytest.raises(PolicyConfigError) as error:
        check_file(file, POLICIES, "pack")
    lines = str(error.value).splitlines()
    assert "cfg.json:2:9: a.min: 0 is below the minimum of 1" in lines
    assert 'cfg.json:2:19: a.regions: "x" is a string, but an array is expected' in lines
    assert ('cfg.json:3:9: b.mode: "strct" is not allowed (one of "strict", "loose"); did you mean \'strict\'?'
            in lines)


def test_unknown_properties_and_policy_names_are_refused_with_the_closest_name() -> None:
    file = read_policy_config_text('{"a": {"mni": 5}, "bb": "advisory"}', "cfg.json")
    with pytest.raises(PolicyConfigError) as error:
        check_file(file, POLICIES, "pack")
    text = str(error.value)
    assert "cfg.json:1:8: a.mni: 'mni' is not a property of this policy (did you mean 'min'?)" in text
    assert "cfg.json:1:19: bb: no policy of pack pack has this name; did you mean 'b'?" in text


def test_exemptions_and_allow_list_entries_that_match_nothing_are_refused() -> None:
    file = read_policy_config_text('{"a": {"exemptResources": ["acount", "acct"], "regions": ["swedencentrl"]}}',
                                   "cfg.json")
    with pytest.raises(PolicyConfigError) as error:
        check_references(file, POLICIES, {"account": "urn:x::account", "acct": "urn:x::acct"},
                         {"region": ["swedencentral", "francecentral"]})
    lines = str(error.value).splitlines()
    assert lines == [
        "cfg.json:1:28: a.exemptResources[0]: 'acount' is no resource of this stack, so the exemption waives "
        "nothing; did you mean 'account'?",
        "cfg.json:1:59: a.regions[0]: 'swedencentrl' is no region the project knows, so this entry allows nothing; "
        "did you mean 'swedencentral'?",
    ]
    ok = read_policy_config_text('{"a": {"exemptResources": ["urn:x::acct"], "regions": ["SwedenCentral"]}}', "f")
    check_references(ok, POLICIES, {"acct": "urn:x::acct"}, {"region": ["swedencentral"]})


@pytest.mark.parametrize("document, message", [
    ('{"a": "sometimes"}', "'sometimes' is not a valid enforcement level"),
    ('{"a": {"enforcementLevel": 3}}', "3 is not a valid enforcement level; must be a string"),
    ('{"a": 5}', "is not a valid value; must be a string or object"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "f:1:2: is not valid JSON: Expecting property name enclosed in double quotes"),
    ('{"a": {"min": 1},\n "a": "advisory"}', 'f:2:2: a: key "a" already defined at line 1'),
])
def test_malformed_config_is_refused_with_the_reason(document: str, message: str) -> None:
    with pytest.raises(PolicyConfigError, match=r"^f[:]") as error:
        parse_policy_config(document, "f")
    assert message in str(error.value)


def test_an_empty_file_is_no_config() -> None:
    assert parse_policy_config("  \n", "f") == {}


def test_validation_is_json_schema_draft_7() -> None:
    schema = {"type": "object", "required": ["n"], "additionalProperties": False,
              "properties": {"n": {"type": "number", "maximum": 5}, "s": {"type": "string", "pattern": "^a"},
                             "l": {"type": "array", "minItems": 1, "uniqueItems": True}}}
    assert validate(schema, {"n": 1, "s": "abc", "l": [1]}) == []
    errors = {e.validator for e in validate(schema, {"s": "b", "l": [1, 1], "x": 1})}
    assert errors == {"required", "pattern", "uniqueItems", "additionalProperties"}
    assert validate({"type": "integer"}, True) != [], "a boolean is not an integer"


def test_allow_lists_extend_their_default_unless_replaced() -> None:
    schema = {"regions": {"type": "array", "default": ["a", "b"], "x-aoai-allowList": True},
              "required": {"type": "array", "default": ["t"]}}
    assert rules().effective(schema, {"regions": ["c"], "required": ["u"]}) == {"regions": ["a", "b", "c"],
                                                                                "required": ["u"]}
    assert rules().effective(schema, {"regions": ["c"], "replace": ["regions"]})["regions"] == ["c"]
    nested = {"models": {"type": "object", "default": {"m": ["1"]}, "x-aoai-allowList": True}}
    assert rules().effective(nested, {"models": {"m": ["2"], "n": ["1"]}})["models"] == {"m": ["1", "2"], "n": ["1"]}


def test_the_real_config_files_parse() -> None:
    for path in sorted((Path(__file__).resolve().parents[2] / "policies" / "config").glob("*.json")):
        assert parse_policy_config(path.read_text(), str(path)), path
