"""The served gate reaches the verdict the pack's own policy objects reach when called directly on the same graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.engine import Graph
from offline.gate import CheckResult, default_policy_config
from tests.offline.direct import DirectResult, evaluate, load_pack
from tests.offline.helpers import PACK, resource, set_both, varied
from tests.support import variant


def served(result: CheckResult) -> tuple[frozenset[tuple[str, str, str, str]], frozenset[tuple[str, str]]]:
    return (frozenset((v.policy, v.enforcement_level, v.urn, v.message) for v in result.violations),
            frozenset((u.policy, u.urn) for u in result.undecided))


def assert_same(result: CheckResult, direct: DirectResult) -> None:
    violations, undecided = served(result)
    assert violations - direct.violations == set(), "the served pack reported what the policies did not"
    assert direct.violations - violations == set(), "the served pack missed what the policies reported"
    assert undecided == direct.undecided


@pytest.fixture(scope="module")
def pack_definition():  # type: ignore[no-untyped-def]
    return load_pack(PACK)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_served_pack_agrees_with_its_policies_on_each_stack(stack: str, graphs: dict[str, Graph], gate,
                                                           pack_definition) -> None:
    graph = graphs[stack]
    config = default_policy_config(PACK, stack)
    assert_same(gate(graph), evaluate(pack_definition, graph, config))


def test_served_pack_agrees_on_a_graph_with_violations_of_both_kinds(graphs: dict[str, Graph], gate,
                                                                    pack_definition) -> None:
    graph = varied(graphs["prod"])
    set_both(resource(graph, "aoai-prod-swc-openai-account"), "properties.publicNetworkAccess", "Enabled")
    set_both(resource(graph, "aoai-prod-frc-cmk-vault"), "properties.enablePurgeProtection", False)
    resource(graph, "aoai-prod-swc-monitoring-workspace").protect = False
    result = gate(graph)
    assert {v.stage for v in result.violations} == {"resource", "stack"}
    assert_same(result, evaluate(pack_definition, graph, default_policy_config(PACK, "prod")))


def test_served_pack_agrees_without_a_config_file(graphs: dict[str, Graph], gate, pack_definition) -> None:
    graph = graphs["dev"]
    result = gate(graph, config=None)
    assert result.mandatory, "pack defaults are production-strict, so dev fails without its config"
    assert_same(result, evaluate(pack_definition, graph, None))


def test_served_pack_agrees_on_a_first_preview(gate, pack_definition) -> None:
    graph = variant("prod", first_preview=True)
    result = gate(graph, first_preview=True)
    assert result.undecided, "a first preview leaves ids unknown, so some policies cannot decide"
    assert_same(result, evaluate(pack_definition, graph, default_policy_config(PACK, "prod")))


def test_served_tiny_pack_agrees_with_its_policies(tiny_pack: Path, graphs: dict[str, Graph], gate) -> None:
    graph = varied(graphs["prod"])
    set_both(resource(graph, "aoai-prod-frc-openai-account"), "properties.publicNetworkAccess", "Enabled")
    result = gate(graph, pack=tiny_pack, config=None)
    assert [v.policy for v in result.violations] == ["tiny-account-private"]
    assert_same(result, evaluate(load_pack(tiny_pack), graph, None))
