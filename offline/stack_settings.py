"""A stack file's settings as the program receives them, without running the program (for checks across stacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from settings import decode_config

from .engine import PROJECT_DIR, stack_config


def settings_values(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The project namespace of the stack's config (declared defaults included), keys without the project prefix,
    values decoded as the program decodes them."""
    project, config = stack_config(stack, stack_file, project_dir)
    prefix = f"{project}:"
    return {key[len(prefix):]: decode_config(key[len(prefix):], value) for key, value in config.items()
            if key.startswith(prefix)}
