"""Helpers the tests share (importable as tests.support)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def stack_values(stack: str) -> dict[str, Any]:
    """The project-namespace config of a stack file, keys without the project prefix (a deep copy to mutate)."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: copy.deepcopy(value) for key, value in config.items()}
