"""The YAML loader reads files as the Pulumi CLI's yaml.v3 does, not as PyYAML does, and says where each problem is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from offline.loader import LoadError, Position, load_yaml, load_yaml_text, resolve_plain

SECOND_DEPLOYMENTS = """\
config:
  aoai-platform:deployments:
    - model: gpt-4o
      sku: Standard
  aoai-platform:tags:
    owner: team@contoso.com
  aoai-platform:deployments:
    - model: whisper
      sku: Standard
"""


def test_a_repeated_key_is_refused_where_pyyaml_keeps_the_last() -> None:
    assert yaml.safe_load(SECOND_DEPLOYMENTS)["config"]["aoai-platform:deployments"] == [
        {"model": "whisper", "sku": "Standard"}], "PyYAML silently drops the first list"
    with pytest.raises(LoadError) as caught:
        load_yaml_text(SECOND_DEPLOYMENTS, "Pulumi.prod.yaml")
    error = caught.value
    assert (error.file, error.line, error.column, error.key) == (
        "Pulumi.prod.yaml", 7, 3, "config.aoai-platform:deployments")
    assert str(error).startswith('Pulumi.prod.yaml:7:3: config.aoai-platform:deployments: mapping key '
                                 '"aoai-platform:deployments" already defined at line 2')


def test_every_repeated_key_is_reported_and_nested_ones_too() -> None:
    text = "a: 1\nb:\n  x: 1\n  x: 2\na: 3\n"
    with pytest.raises(LoadError) as caught:
        load_yaml_text(text, "f.yaml")
    assert [(p.key, p.position) for p in caught.value.problems] == [
        ("b.x", Position(4, 3)), ("a", Position(5, 1))]


@pytest.mark.parametrize(("text", "value"), [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),  # YAML 1.1 booleans stay strings
    ("true", True), ("False", False), ("TRUE", True),
    ("2028-06-30", "2028-06-30"),  # a date stays the string it is
    ("12:30", "12:30"),  # no base 60
    ("42", 42), ("0x1F", 31), ("0o17", 15), ("017", 15), ("1_000", 1000), ("+5", 5), ("-0b101", -5),
    ("08", 8.0),  # not octal, so Go's ParseFloat reads it
    ("1.0", 1.0), (".5", 0.5), ("1e3", 1000.0), (".inf", float("inf")),
    ("1e999", "1e999"),  # out of range for Go: stays text
    ("~", None), ("null", None), ("", None), ("abc", "abc"),
])
def test_plain_scalars_resolve_as_yaml_v3_resolves_them(text: str, value: object) -> None:
    resolved = resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)


def test_quoted_and_tagged_scalars() -> None:
    doc = load_yaml_text("a: '42'\nb: \"yes\"\nc: !!str 7\nd: !!float 3\ne: |\n  x\n", "f.yaml")
    assert doc.value == {"a": "42", "b": "yes", "c": "7", "d": 3.0, "e": "x\n"}
    with pytest.raises(LoadError, match="cannot decode 'maybe' as bool"):
        load_yaml_text("a: !!bool maybe\n", "f.yaml")


def test_keys_must_be_strings() -> None:
    with pytest.raises(LoadError, match=r"f.yaml:2:1: expected only string keys, got '1'"):
        load_yaml_text("a: 1\n1: b\n", "f.yaml")


def test_positions_of_keys_and_items() -> None:
    doc = load_yaml_text("config:\n  aoai-platform:regions:\n    - location: swedencentral\n", "f.yaml")
    assert doc.position("config", "aoai-platform:regions") == Position(2, 3)
    assert doc.position("config", "aoai-platform:regions", 0, "location") == Position(3, 7)
    assert doc.position("config", "aoai-platform:regions", 0, "missing") == Position(3, 7), "nearest written key"


def test_merges_anchors_and_only_the_first_document() -> None:
    doc = load_yaml_text("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n---\nother: 1\n", "f.yaml")
    assert doc.value == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 3}}


def test_syntax_errors_and_unreadable_files_name_the_place(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as caught:
        load_yaml_text("a: [1, 2\nb: 3\n", "f.yaml")
    assert caught.value.file == "f.yaml" and caught.value.line == 2 and "is not valid YAML" in str(caught.value)
    with pytest.raises(LoadError, match="cannot read the file"):
        load_yaml(tmp_path / "absent.yaml")
