"""The program's graph for each stack, built once per test session under the mock engine and shared by every test
that reads it (vary a copy, `tests.offline.helpers.varied`; `tests.support.variant` gives the same graphs and their
variations, each run once). `pyproject.toml` puts the project root on the path (`pythonpath`)."""

from __future__ import annotations

import gc
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support
from offline.engine import Graph
from tests.support import changed_variants, variant


def pytest_configure(config: pytest.Config) -> None:
    """One graph store for the session (tests.support.GRAPH_STORE): the controller makes it, its workers share it."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        tests.support.GRAPH_STORE = Path(worker_input["graph_store"])
    else:
        tests.support.GRAPH_STORE = Path(tempfile.mkdtemp(prefix="aoai-test-graphs-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist starts a worker: hand it the controller's graph store."""
    node.workerinput["graph_store"] = str(tests.support.GRAPH_STORE)


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
    """The session is over: the controller removes the graph store, and no process needs a last garbage collection
    of its objects at interpreter shutdown (about a second per process with the SDK's modules loaded; `python -m
    offline` does the same, offline/__main__.py)."""
    if getattr(config, "workerinput", None) is None and tests.support.GRAPH_STORE is not None:
        shutil.rmtree(tests.support.GRAPH_STORE, ignore_errors=True)
    gc.freeze()
