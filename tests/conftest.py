"""The program's graph for each stack, built once per test session under the mock engine and shared by every test
that reads it (deep-copy one before changing it; `tests.support.variant` gives the same graphs and their
variations, each run once). `pyproject.toml` puts the project root on the path (`pythonpath`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from offline.engine import Graph
from tests.support import changed_variants, variant


@pytest.fixture(scope="session", autouse=True)
def shared_graphs_stay_unchanged() -> Iterator[None]:
    """A shared graph changed in place would mislead every later test that reads it: the session errors."""
    yield
    assert changed_variants() == [], "a test changed a shared graph in place: vary a copy (varied())"


@pytest.fixture(scope="session")
def dev_graph() -> Graph:
    return variant("dev")


@pytest.fixture(scope="session")
def prod_graph() -> Graph:
    return variant("prod")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session is over: its objects need no last garbage collection at interpreter shutdown (about a second per
    process with the SDK's modules loaded; `python -m offline` does the same, offline/__main__.py)."""
    gc.freeze()
