"""Helpers the tests share (importable as tests.support)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def stack_values(stack: str) -> dict[str, Any]:
    """The project-namespace config of a stack file, keys without the project prefix (a deep copy to mutate)."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: copy.deepcopy(value) for key, value in config.items()}


_VARIANTS: dict[str, Any] = {}


def variant(stack: str, overrides: Mapping[str, Any] | None = None, first_preview: bool = False) -> Any:
    """The program's graph for `stack` with top-level settings replaced by `overrides`, run once per test session for
    each distinct (stack, overrides, first preview): several suites ask about the same variation (the served gate in
    the insecure corpus, the pack in-process in the policy tests). Read it; `varied()` a copy before changing it."""
    from offline.engine import run_program

    key = json.dumps([stack, overrides or {}, first_preview], sort_keys=True)
    if key not in _VARIANTS:
        graph = run_program(stack, config_overrides=overrides, first_preview=first_preview)
        _VARIANTS[key] = graph
        _FINGERPRINTS[key] = _fingerprint(graph)
    return _VARIANTS[key]


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(graph: Any) -> str:
    return repr([(r.urn, r.inputs, r.outputs, r.protect, r.ignore_changes, r.dependencies) for r in graph.resources]
                + [graph.outputs])


def changed_variants() -> list[str]:
    """The shared graphs some test changed in place (each would have misled every later reader)."""
    return [key for key, graph in _VARIANTS.items() if _fingerprint(graph) != _FINGERPRINTS[key]]
