"""The program's graph for each stack, built once per test session under the mock engine and shared by every test
that reads it (deep-copy one before changing it). `pyproject.toml` puts the project root on the path (`pythonpath`)."""

from __future__ import annotations

import pytest

from offline.engine import Graph, run_program


@pytest.fixture(scope="session")
def dev_graph() -> Graph:
    return run_program("dev")


@pytest.fixture(scope="session")
def prod_graph() -> Graph:
    return run_program("prod")
