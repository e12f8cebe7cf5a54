"""Helpers the tests share (importable as tests.support)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import pickle
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

try:
    import fcntl
except ImportError:  # Windows: no shared store, each test process builds its own graphs
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent


def project_values(path: Path) -> dict[str, Any]:
    """The project-namespace config of a stack file, keys without the project prefix (read afresh: yours to mutate)."""
    config = yaml.safe_load(path.read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("aoai-platform:")}


def stack_values(stack: str) -> dict[str, Any]:
    """`project_values` of Pulumi.<stack>.yaml."""
    return project_values(ROOT / f"Pulumi.{stack}.yaml")


_VARIANTS: dict[str, Any] = {}

GRAPH_STORE: Path | None = None
"""A directory every process of the test session shares (tests/conftest.py sets it; pytest-xdist's workers get the
controller's): each variation's graph is pickled there by the first process that runs it and read by the others."""


def _stack_file_bytes(stack: str, stack_file: Path | None) -> bytes:
    return (stack_file if stack_file is not None else ROOT / f"Pulumi.{stack}.yaml").read_bytes()


def variant(stack: str, overrides: Mapping[str, Any] | None = None, first_preview: bool = False,
            stack_file: Path | None = None) -> Any:
    """The program's graph for `stack` (read from `stack_file`, default Pulumi.<stack>.yaml) with top-level settings
    replaced by `overrides`, run once per test session for each distinct (stack, stack file content, overrides, first
    preview): several suites ask about the same variation (the served gate in the insecure corpus, the pack in-process
    in the policy tests, a scenario's check and the tests that read its graph, `check` run in-process on an unchanged
    stack file). Across the session's worker processes too: the graph is built by one and read by the others
    (`GRAPH_STORE`). Keyed by the file's bytes, not its path, so two copies of one file are one run. Read it;
    `varied()` a copy before changing it."""
    file_digest = hashlib.sha256(_stack_file_bytes(stack, stack_file)).hexdigest()
    key = json.dumps([stack, overrides or {}, first_preview, file_digest], sort_keys=True)
    if key not in _VARIANTS:
        graph = _shared(key, lambda: _run(stack, stack_file, overrides, first_preview))
        _VARIANTS[key] = graph
        _FINGERPRINTS[key] = _fingerprint(graph)
    return _VARIANTS[key]


def _run(stack: str, stack_file: Path | None, overrides: Mapping[str, Any] | None, first_preview: bool) -> Any:
    from offline.engine import run_program

    return run_program(stack, stack_file=stack_file, config_overrides=overrides, first_preview=first_preview)


def _shared(key: str, build: Callable[[], Any]) -> Any:
    """`build()`'s graph, built by one process of the session and unpickled by the rest. A process that finds the
    graph being built waits for it (an exclusive lock per key); a build that raises leaves nothing behind, and the
    next process to ask builds it itself. Without a store (or without fcntl, as on Windows), each process builds its
    own."""
    if GRAPH_STORE is None or fcntl is None:
        return build()
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    done = GRAPH_STORE / f"{name}.pickle"
    with open(GRAPH_STORE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if done.exists():
                return pickle.loads(done.read_bytes())
            graph = build()
            partial = done.with_name(f"{done.name}.{os.getpid()}")
            partial.write_bytes(pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(done)
            return graph
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


SCENARIOS = ROOT / "tests" / "scenarios"
"""One directory per scenario: its Pulumi.<stack>.yaml and, where it needs one, the policy-config.json it passes."""


def scenario_file(name: str) -> Path:
    """The scenario's stack file, tests/scenarios/<name>/Pulumi.<stack>.yaml (exactly one per directory)."""
    (path,) = sorted((SCENARIOS / name).glob("Pulumi.*.yaml"))
    return path


def scenario_stack(name: str) -> str:
    """The stack a scenario's file is for (the <stack> of its Pulumi.<stack>.yaml)."""
    return scenario_file(name).name[len("Pulumi."):-len(".yaml")]


_EXPIRES = re.compile(r'(expiresOn: )"\d{4}-\d{2}-\d{2}"')
DATED_SCENARIOS = ROOT / "build" / "scenarios"


@functools.cache
def scenario_run_file(name: str) -> Path:
    """The file a scenario is checked from today: its own file, or, for one with dated exemptions (`expiresOn`), a copy
    under build/scenarios/ whose dates lie 150 days ahead of today (inside prod's 180-day limit), so that the scenario
    holds on whatever day the suite runs. The file as written is what the settings test reads, on the day it was
    written."""
    path = scenario_file(name)
    text = path.read_text()
    if not _EXPIRES.search(text):
        return path
    ahead = (dt.date.today() + dt.timedelta(days=150)).isoformat()
    dated = DATED_SCENARIOS / name / path.name
    dated.parent.mkdir(parents=True, exist_ok=True)
    partial = dated.with_name(f"{dated.name}.{os.getpid()}")  # test workers write their copies side by side
    partial.write_text(_EXPIRES.sub(rf'\1"{ahead}"', text))
    partial.replace(dated)
    return dated


def scenario_graph(name: str) -> Any:
    """The program's graph for a scenario's stack file, run once per test session (shared like `variant`)."""
    return variant(scenario_stack(name), stack_file=scenario_run_file(name))


def scenario_values(name: str) -> dict[str, Any]:
    """The project-namespace config of a scenario's stack file as it is run (`scenario_run_file`), keys without the
    project prefix."""
    return project_values(scenario_run_file(name))


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(graph: Any) -> str:
    return repr([(r.urn, r.inputs, r.outputs, r.protect, r.ignore_changes, r.dependencies) for r in graph.resources]
                + [graph.outputs])


def changed_variants() -> list[str]:
    """The shared graphs some test changed in place (each would have misled every later reader)."""
    return [key for key, graph in _VARIANTS.items() if _fingerprint(graph) != _FINGERPRINTS[key]]
