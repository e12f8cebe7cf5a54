"""Shared fixtures: run the real program under the mock engine, once per stack and variation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.engine import Graph, run_program  # noqa: E402


@pytest.fixture(scope="session")
def dev_graph() -> Graph:
    return run_program("dev")


@pytest.fixture(scope="session")
def prod_graph() -> Graph:
    return run_program("prod")
