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
def program_graphs(dev_graph, prod_graph):  # type: ignore[no-untyped-def]
    """Each stack's program graph, built once per test session (tests/conftest.py): stack name -> graph."""
    graphs = {"dev": dev_graph, "prod": prod_graph}
    return graphs.__getitem__
