"""Fixtures for the policy pack's tests: the pack importable from policies/, and each stack's program graph."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policies"
# The CLI's policy host runs policies/__main__.py with policies/ first on sys.path; tests import the pack the same way.
for path in (str(PACK_DIR), str(Path(__file__).resolve().parent)):
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture(scope="session")
def program_graphs():
    """Run a stack's program once per test session under the mock engine: stack name -> graph."""
    from offline.engine import run_program

    cache: dict[str, object] = {}

    def graph(stack: str):
        if stack not in cache:
            cache[stack] = run_program(stack)
        return cache[stack]

    return graph
