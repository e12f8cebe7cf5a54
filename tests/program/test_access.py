"""Entra ID access under the mock engine: role assignments resolved from role names, with stable GUID names, and role
definitions from the deploying subscription."""

from __future__ import annotations

from offline.engine import Graph
from settings.catalog import ROLE_IDS
from settings.shapes import ACCOUNT, ROLE_ASSIGNMENT, WORKSPACE
from tests.program.helpers import GUID, one


def test_role_assignments_resolve_names_scopes_and_stable_guid_names(prod_graph: Graph) -> None:
    assignments = [r for r in prod_graph.by_type(ROLE_ASSIGNMENT) if "-access-" in r.name and "swc" in r.name]
    assert len(assignments) == 4
    account, workspace = one(prod_graph, ACCOUNT, "swc"), one(prod_graph, WORKSPACE, "swc")
    by_role = {(a.inputs["principalId"], a.inputs["roleDefinitionId"].rsplit("/", 1)[1]): a.inputs
               for a in assignments}
    reader = by_role[("2e4d6c8b-0a1f-4e3d-9b5c-7a6f8e9d0c05", ROLE_IDS["Log Analytics Reader"])]
    assert reader["scope"] == workspace.id and reader["principalType"] == "Group"
    user = by_role[("7d3e1c52-2b8f-4f0a-9c61-5e4a3b2d1c03", ROLE_IDS["Cognitive Services OpenAI User"])]
    assert user["scope"] == account.id
    assert all(GUID.match(a["roleAssignmentName"]) for a in by_role.values())
    names = {a.inputs["roleAssignmentName"] for a in prod_graph.by_type(ROLE_ASSIGNMENT)}
    assert len(names) == len(prod_graph.by_type(ROLE_ASSIGNMENT)), "every assignment needs its own GUID"


def test_role_definitions_come_from_the_deploying_subscription(prod_graph: Graph) -> None:
    """Known at a first preview (unlike the scope's id), so the policy pack can judge the role before `up`."""
    for assignment in prod_graph.by_type(ROLE_ASSIGNMENT):
        assert assignment.inputs["roleDefinitionId"].startswith(
            "/subscriptions/00000000-0000-4000-8000-00000000a0a1/providers/Microsoft.Authorization/roleDefinitions/")
