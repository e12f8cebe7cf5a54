"""A first preview of an empty stack: what Azure computes is unknown, so inputs built from it are unknown, and the
policies that read them cannot decide until `pulumi up` creates the resources."""

from __future__ import annotations

import re

import pytest

from offline.engine import Graph, run_program
from offline.gate import CheckResult
from offline.render import check_lines, document, unknown_summary
from offline.values import UNKNOWN, is_unknown
from tests.offline.helpers import resource
from tests.support import variant


@pytest.fixture(scope="module")
def first_preview() -> Graph:
    return variant("prod", first_preview=True)


@pytest.fixture(scope="module")
def first_check(first_preview: Graph, gate) -> CheckResult:
    return gate(first_preview, first_preview=True)


def test_ids_and_identity_values_are_unknown(first_preview: Graph) -> None:
    account = resource(first_preview, "aoai-prod-swc-openai-account")
    assert account.id == ""
    keys = account.inputs["properties"]["encryption"]["keyVaultProperties"]
    assert all(is_unknown(keys[k]) for k in ("keyVaultUri", "keyVersion", "identityClientId"))
    assert is_unknown(account.inputs["identity"]["userAssignedIdentities"][0])
    assert is_unknown(account.outputs["id"])
    assert account.inputs["properties"]["publicNetworkAccess"] == "Disabled", "what the program sets is known"


def test_values_the_program_sets_stay_known(first_preview: Graph, graphs: dict[str, Graph]) -> None:
    known = graphs["prod"]
    for name in ("aoai-prod-swc-openai-deployment-chat", "aoai-prod-swc-cmk-vault"):
        before, after = resource(known, name).inputs, resource(first_preview, name).inputs
        assert after["tags"] == before["tags"]
        assert after.get("sku") == before.get("sku")


def test_policies_that_read_unknowns_are_reported_undecided(first_check: CheckResult) -> None:
    assert first_check.undecided, "ids are unknown on a first preview, and the pack's stack policies read them"
    assert first_check.mandatory == [] and first_check.exit_code == 0
    verdicts = first_check.verdicts()
    assert {verdicts[u.policy] for u in first_check.undecided} == {"undecided"}
    assert verdicts["aoai-account-public-network-disabled"] == "pass", "it reads only what the program sets"
    for undecided in first_check.undecided:
        assert re.fullmatch(r"\w+ value at \.[\w.]+ can't be known during preview", undecided.message)
    lines = "\n".join(check_lines(first_check))
    assert "cannot decide until the resources exist" in lines and first_check.undecided[0].message in lines


def test_a_violation_in_known_values_still_fails_a_first_preview(gate) -> None:
    graph = run_program("prod", first_preview=True,
                        config_overrides={"protection": {"protect": False, "locks": True}})
    result = gate(graph, first_preview=True)
    assert "aoai-protect-data-resources" in {v.policy for v in result.mandatory} and result.exit_code == 1


def test_json_marks_unknowns_with_the_engine_sentinel(first_preview: Graph, first_check: CheckResult) -> None:
    doc = document(first_preview, first_check)
    assert doc["unknownSentinel"] == UNKNOWN and doc["firstPreview"] is True
    account = next(r for r in doc["resources"] if r["name"] == "aoai-prod-swc-openai-account")
    assert account["inputs"]["identity"]["userAssignedIdentities"] == [UNKNOWN]
    assert {u["policy"] for u in doc["undecided"]} == {u.policy for u in first_check.undecided}
    assert any(line.startswith("  aoai-prod-swc-openai-account: identity.userAssignedIdentities[0]")
               for line in unknown_summary(first_preview))
