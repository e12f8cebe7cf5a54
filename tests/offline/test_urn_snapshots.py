"""URN snapshots: a change that renames or re-parents a resource changes its URN, and Pulumi then replaces it.

For an Azure OpenAI account, a Key Vault or its key, replacement means a new, empty resource: deployments, keys and
logs are gone (soft-deleted at best). The snapshot makes such a change visible in review; it is accepted only by
regenerating the snapshot on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offline.engine import Graph

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_COMMAND = "UPDATE_SNAPSHOTS=1 python -m pytest tests/offline/test_urn_snapshots.py"


def urns(graph: Graph) -> list[str]:
    return sorted(r.urn for r in graph.resources)


def snapshot_problem(stack: str, expected: list[str], actual: list[str]) -> str | None:
    """None when the URNs are unchanged, else a message a reviewer can act on."""
    removed = sorted(set(expected) - set(actual))
    added = sorted(set(actual) - set(expected))
    if not removed and not added:
        return None
    lines = [f"The URNs of stack {stack!r} changed: {len(removed)} gone, {len(added)} new.",
             "A changed URN (a renamed resource or a new parent) makes Pulumi delete the old resource and create a "
             "new one: in Azure that is a replacement, and for the account, vault, key or workspace the loss of its "
             "data. Add `aliases` to keep the resource, or, if the replacement is intended, accept it deliberately:",
             f"    {UPDATE_COMMAND}",
             "and commit the snapshot change with the reason."]
    lines += [f"  - {urn}" for urn in removed] + [f"  + {urn}" for urn in added]
    return "\n".join(lines)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_resource_urns_match_the_snapshot(stack: str, graphs: dict[str, Graph]) -> None:
    path = SNAPSHOTS / f"{stack}.urns.txt"
    actual = urns(graphs[stack])
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(actual) + "\n")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"wrote the first snapshot {path}; review and commit it")
    expected = path.read_text().splitlines()
    problem = snapshot_problem(stack, expected, actual)
    assert problem is None, problem


def test_a_renamed_resource_fails_with_how_to_accept_it(graphs: dict[str, Graph]) -> None:
    expected = urns(graphs["prod"])
    renamed = [u.replace("aoai-prod-swc-cmk-key", "aoai-prod-swc-cmk-key2") if u.endswith("::aoai-prod-swc-cmk-key")
               else u for u in expected]
    problem = snapshot_problem("prod", expected, renamed)
    assert problem is not None
    assert "replacement" in problem and UPDATE_COMMAND in problem
    assert "  - urn:pulumi:prod::aoai-platform::" in problem and "aoai-prod-swc-cmk-key2" in problem


def test_a_reparented_resource_changes_its_urn(graphs: dict[str, Graph]) -> None:
    expected = urns(graphs["prod"])
    key = next(u for u in expected if u.endswith("::aoai-prod-swc-cmk-key"))
    moved = [u for u in expected if u != key] + [key.replace("aoai:keyvault:CustomerManagedKey$", "")]
    assert snapshot_problem("prod", expected, moved) is not None
