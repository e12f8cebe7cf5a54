"""Fixtures for the offline gate: one running pack per (pack, stack) for the whole session, the real program's graphs,
and a small pack written to a temporary directory to test the host against something fully known.

Starting a pack costs a process; running the program costs about a second. Both are shared per session, and tests
that vary a graph deep-copy it first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from offline.analyzer_host import HostPool, StackContext
from offline.engine import Graph, run_program, stack_config
from offline.gate import CheckResult, default_policy_config, run_check
from tests.offline.helpers import PACK, TINY_PACK_MAIN, write_pack


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pack(tmp_path_factory.mktemp("tiny-pack"), TINY_PACK_MAIN)


@pytest.fixture(scope="session")
def pool() -> Iterator[HostPool]:
    """Running packs shared by every test of the session, stopped at its end."""
    hosts = HostPool()
    yield hosts
    hosts.close()


@pytest.fixture(scope="session")
def graphs() -> dict[str, Graph]:
    """Each stack's graph as the stack file describes it (deep-copy before changing one)."""
    return {stack: run_program(stack) for stack in ("dev", "prod")}


@pytest.fixture(scope="session")
def stack_contexts() -> dict[str, StackContext]:
    contexts = {}
    for stack in ("dev", "prod"):
        project, config = stack_config(stack)
        contexts[stack] = StackContext(project=project, stack=stack, config=config)
    return contexts


Gate = Callable[..., CheckResult]


@pytest.fixture(scope="session")
def gate(pool: HostPool, stack_contexts: Mapping[str, StackContext]) -> Gate:
    """Run the served pack over a graph: gate(graph, pack=..., config=..., first_preview=...)."""

    def run(graph: Graph, pack: Path = PACK, config: Path | str | None = "default",
            first_preview: bool = False) -> CheckResult:
        context = stack_contexts[graph.stack]
        path = default_policy_config(pack, graph.stack) if config == "default" else config
        assert path is None or isinstance(path, Path)
        return run_check(pool.get(pack, context), graph, path, context, first_preview=first_preview)

    return run
