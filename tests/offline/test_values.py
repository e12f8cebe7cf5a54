"""Values reach the pack as the engine marshals them: numbers as floats, unknowns as the engine's sentinel."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown

from offline.analyzer_host import PolicyTarget, _properties
from offline.engine import Graph
from offline.values import UNKNOWN, contains_unknown, display, get_path, to_engine, to_struct
from tests.support import variant


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


def _generic(value: object) -> object:
    """to_engine's rules, written plainly: the reference its fast paths are held to."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {str(k): _generic(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
                if not str(k).startswith("__")}
    if isinstance(value, (list, tuple)):
        return [_generic(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    assert isinstance(value, (int, float))
    return float(value)


def test_every_registration_reaches_the_pack_as_json_format_would_carry_it(graphs: dict[str, Graph]) -> None:
    """What every Analyze and AnalyzeStack request carries, for every registration of both stacks: to_engine as its
    plain rules say, and the Struct the host fills the same message json_format.ParseDict makes."""
    first_preview = variant("prod", first_preview=True)
    for graph in (*graphs.values(), first_preview):
        for resource in graph.resources:
            for properties in (resource.inputs, resource.outputs):
                engine = to_engine(properties)
                assert engine == _generic(properties) and json.dumps(engine) == json.dumps(_generic(properties))
                parsed = struct_pb2.Struct()
                json_format.ParseDict(engine, parsed)
                target = PolicyTarget(resource.urn, resource.type, resource.name, engine)
                assert _properties(target) == parsed, resource.urn
    assert to_engine({1: (2, {"b": 1, "a": True}), "x": UNKNOWN}) == {"1": [2.0, {"a": True, "b": 1.0}], "x": UNKNOWN}
