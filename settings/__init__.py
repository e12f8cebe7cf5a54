"""Stack settings: read once from the stack's config, validated whole, then handed to the components as frozen data."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.config import ConfigTypeError
from pulumi.runtime.config import CONFIG, get_config_env

from .model import Settings
from .parse import TOP_LEVEL_KEYS, parse_settings
from .reader import SettingsError

__all__ = ["STRING_KEYS", "TOP_LEVEL_KEYS", "Settings", "SettingsError", "decode_config", "load_settings",
           "parse_settings"]

# The keys Pulumi.yaml declares `type: string`. The CLI hands every config value over as a string (PULUMI_CONFIG):
# these as written, so `nameSuffix: "42"` stays the string "42"; every other key is declared `object` or `array`, and
# its string is JSON. tests/test_settings.py holds this set equal to Pulumi.yaml's declarations.
STRING_KEYS = frozenset({"environment", "namePrefix", "nameSuffix", "cloud", "subscription"})


def decode_config(key: str, value: str) -> Any:
    """A config string as `load_settings` reads it, for tools that read stack files without running the program:
    a string key as written, a structured one as JSON (`Config.get_object` is `json.loads`)."""
    if key in STRING_KEYS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def config_value(config: pulumi.Config, key: str) -> Any:
    """One key the way the SDK reads it: `Config.get` for a string key, `Config.get_object` (which is `json.loads`,
    pulumi/config.py) for a structured one. A structured value that is not JSON (a plain word where a list belongs)
    is returned as the string, so the settings check reports its shape instead of failing here."""
    if key in STRING_KEYS:
        return config.get(key)
    try:
        return config.get_object(key)
    except ConfigTypeError:
        return config.get(key)


def load_settings() -> Settings:
    """Read this project's namespace of the running stack's config and validate it.

    Keys in the namespace that the project does not know are reported too: a misspelt key would otherwise be
    ignored and its default silently used.
    """
    project = pulumi.get_project()
    prefix = f"{project}:"
    config = pulumi.Config(project)
    # `pulumi up` hands config to the program in PULUMI_CONFIG; tests and the offline runner set it in-process.
    everything = {**get_config_env(), **CONFIG.get()}
    raw = {key[len(prefix):]: config_value(config, key[len(prefix):]) for key in sorted(everything)
           if key.startswith(prefix)}
    # The provider's subscription, when the stack sets it, is what the guardrails' explicit scopes must stay inside.
    subscription = everything.get("azure-native:subscriptionId")
    return parse_settings(raw, pulumi.get_stack(), subscription_id=subscription or None)
