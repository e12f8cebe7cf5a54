"""Values reach the pack as the engine marshals them: numbers as floats, unknowns as the engine's sentinel."""

from __future__ import annotations

import pytest
from google.protobuf import json_format
from pulumi.output import Unknown

from offline.values import UNKNOWN, contains_unknown, display, get_path, to_engine, to_struct


def test_engine_form_matches_a_struct_round_trip() -> None:
    value = {"b": [1, 2.5, True, None], "a": {"size": 2048, "id": Unknown()}, "__defaults": ["x"]}
    engine = to_engine(value)
    assert engine == {"a": {"id": UNKNOWN, "size": 2048.0}, "b": [1.0, 2.5, True, None]}
    assert list(engine) == ["a", "b"], "keys sorted, so output does not depend on registration order"
    assert json_format.MessageToDict(to_struct(value)) == engine


def test_unknowns_are_found_at_any_depth() -> None:
    assert contains_unknown({"a": [{"b": Unknown()}]})
    assert contains_unknown([UNKNOWN])
    assert not contains_unknown({"a": [1, "x"]})


def test_values_that_no_engine_can_carry_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot marshal object"):
        to_engine({"a": object()})


def test_display_and_paths() -> None:
    assert display(2048.0) == "2048" and display(True) == "true" and display(Unknown()) == "(known after apply)"
    assert display(["a", 1.0]) == "[a, 1]"
    assert get_path({"a": {"b": 1}}, "a.b") == 1 and get_path({"a": 1}, "a.b", "none") == "none"
