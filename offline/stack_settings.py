"""A stack file's settings as the program receives them, without running the program (for checks across stacks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from settings import Settings, decode_config, parse_settings

from .engine import PROJECT_DIR, stack_config


def settings_values(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The project namespace of the stack's config (declared defaults included), keys without the project prefix,
    values decoded as the program decodes them."""
    return _namespace(*stack_config(stack, stack_file, project_dir))


def _namespace(project: str, config: dict[str, str]) -> dict[str, Any]:
    prefix = f"{project}:"
    return {key[len(prefix):]: decode_config(key[len(prefix):], value) for key, value in config.items()
            if key.startswith(prefix)}


def stack_settings(stack: str, stack_file: Path | None = None, project_dir: Path = PROJECT_DIR,
                   today: dt.date | None = None) -> Settings:
    """The stack's settings validated as the program validates them (settings.load_settings): with the provider's
    azure-native:subscriptionId when the stack file sets it, since the guardrails' explicit scopes and exemptions by
    resource id are checked against it (without it they are refused as uncheckable)."""
    project, config = stack_config(stack, stack_file, project_dir)
    return parse_settings(_namespace(project, config), stack, today=today,
                          subscription_id=config.get("azure-native:subscriptionId") or None)
