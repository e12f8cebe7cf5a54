"""Stack settings: read once from the stack's config, validated whole, then handed to the components as frozen data."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from .model import Settings
from .parse import TOP_LEVEL_KEYS, parse_settings
from .reader import SettingsError

__all__ = ["TOP_LEVEL_KEYS", "Settings", "SettingsError", "decode_config_value", "load_settings", "parse_settings"]


def decode_config_value(value: str) -> Any:
    """The CLI hands every config value over as a string; structured ones are JSON, plain strings are not."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def load_settings() -> Settings:
    """Read this project's namespace of the running stack's config and validate it.

    Keys in the namespace that the project does not know are reported too: a misspelt key would otherwise be
    ignored and its default silently used.
    """
    project = pulumi.get_project()
    prefix = f"{project}:"
    raw: dict[str, Any] = {}
    # `pulumi up` hands config to the program in PULUMI_CONFIG; tests and the offline runner set it in-process.
    everything = {**get_config_env(), **CONFIG.get()}
    for full_key, value in sorted(everything.items()):
        if full_key.startswith(prefix):
            raw[full_key[len(prefix):]] = decode_config_value(value)
    # The provider's subscription, when the stack sets it, is what the guardrails' explicit scopes must stay inside.
    subscription = everything.get("azure-native:subscriptionId")
    return parse_settings(raw, pulumi.get_stack(), subscription_id=subscription or None)
