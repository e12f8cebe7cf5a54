"""Fixtures for the offline gate: one running pack per (pack, stack) for the whole session, the real program's graphs,
and a small pack written to a temporary directory to test the host against something fully known.

Starting a pack costs a process; running the program costs about half a second. Both are shared per session, and
tests that vary a graph vary a copy (`varied()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from offline.analyzer_host import HostPool, PolicyTarget, StackContext
from offline.engine import Graph, stack_config
from offline.gate import CheckResult, default_policy_config, resource_targets, run_check
from tests.offline.helpers import PACK, TINY_PACK_MAIN, write_pack
from tests.support import variant


@pytest.fixture
def shared_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run in-process (`check`, `preview`, `report`, `diff`) read the session's one run of the program for
    a stack file's content (tests.support.variant); everything else they do themselves. For the tests whose subject is
    what a command makes of a program's graph, not the run of the program (tests/offline/test_engine*.py and
    tests/program/ test that; a test that patches what the program reads must not use this)."""
    def run(stack: str, stack_file: Path | None = None, first_preview: bool = False) -> Graph:
        return variant(stack, stack_file=stack_file, first_preview=first_preview)  # type: ignore[no-any-return]

    monkeypatch.setattr("offline.cli.run_program", run)


@pytest.fixture(scope="session")
def tiny_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pack(tmp_path_factory.mktemp("tiny-pack"), TINY_PACK_MAIN)


@pytest.fixture(scope="session")
def pool() -> Iterator[HostPool]:
    """Running packs shared by every test of the session, stopped at its end. A registration checked again under the
    same configuration gets the pack's first answer (`HostPool(reuse_answers=True)`): the suite checks each stack's
    unchanged resources in many tests."""
    hosts = HostPool(reuse_answers=True)
    yield hosts
    hosts.close()


@pytest.fixture(scope="session")
def graphs(dev_graph: Graph, prod_graph: Graph) -> dict[str, Graph]:
    """Each stack's graph as the stack file describes it (the session's, from tests/conftest.py; vary a copy,
    `varied()`)."""
    return {"dev": dev_graph, "prod": prod_graph}


@pytest.fixture(scope="session")
def stack_contexts() -> dict[str, StackContext]:
    contexts = {}
    for stack in ("dev", "prod"):
        project, config = stack_config(stack)
        contexts[stack] = StackContext(project=project, stack=stack, config=config)
    return contexts


Gate = Callable[..., CheckResult]


@pytest.fixture(scope="session")
def gate(pool: HostPool, stack_contexts: Mapping[str, StackContext], graphs: Mapping[str, Graph]) -> Gate:
    """Run the served pack over a graph: gate(graph, pack=..., config=..., first_preview=..., varies=...).

    `varies=True` says the graph is a variation of its stack's unchanged graph, analyzed under a config that only
    narrows the stack's own (fewer policies on, none newly enabled): the registrations the variation left as they were
    are known to pass (the unchanged stack passes every policy, at every level, under its config; checked here once
    per stack) and are not sent again (`run_check`, `passed`). The session's unchanged graphs under their own config
    are judged once: every test asking for that verdict gets the same result."""
    verdicts: dict[str, CheckResult] = {}  # the session's unchanged graphs under their stack's config
    passing: dict[str, dict[str, PolicyTarget]] = {}

    def unchanged(stack: str) -> CheckResult:
        if stack not in verdicts:
            context = stack_contexts[stack]
            verdicts[stack] = run_check(pool.get(PACK, context), graphs[stack], default_policy_config(PACK, stack),
                                        context)
        return verdicts[stack]

    def passing_targets(stack: str) -> dict[str, PolicyTarget]:
        if stack not in passing:
            result = unchanged(stack)
            assert result.violations == () and result.undecided == (), f"unchanged {stack} must pass every policy"
            passing[stack] = {t.urn: t for t in resource_targets(graphs[stack])}
        return passing[stack]

    def run(graph: Graph, pack: Path = PACK, config: Path | str | None = "default",
            first_preview: bool = False, varies: bool = False) -> CheckResult:
        if graph is graphs.get(graph.stack) and pack == PACK and config == "default" and not first_preview:
            return unchanged(graph.stack)
        context = stack_contexts[graph.stack]
        path = default_policy_config(pack, graph.stack) if config == "default" else config
        assert path is None or isinstance(path, Path)
        if varies:
            assert pack == PACK and not first_preview
            result = run_check(pool.get(pack, context), graph, path, context, passed=passing_targets(graph.stack))
            before = unchanged(graph.stack).levels
            newly = {p for p, level in result.levels.items()
                     if level != "disabled" and before.get(p, "disabled") == "disabled"}
            assert not newly, f"{sorted(newly)} are off in the unchanged stack's config: vary under a narrower one"
            return result
        return run_check(pool.get(pack, context), graph, path, context, first_preview=first_preview)

    return run
