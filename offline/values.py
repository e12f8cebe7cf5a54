"""Property values in the engine's form: what the Pulumi CLI hands a policy pack and what our JSON output shows.

The mock engine records inputs as the Python SDK decodes them (unknowns as `pulumi.output.Unknown`, integers as
Python ints). The CLI marshals them as a protobuf `Struct`: numbers become floats and an unknown becomes the engine's
sentinel string, which `pulumi_policy` turns back into "can't be known during preview". One conversion, used for
the analyzer requests and the JSON output alike, keeps the two identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

__all__ = ["UNKNOWN", "contains_unknown", "display", "get_path", "is_unknown", "to_engine", "to_struct"]


def is_unknown(value: Any) -> bool:
    """True for a value a preview cannot know, in either the SDK's or the engine's representation."""
    return isinstance(value, Unknown) or value == UNKNOWN


def contains_unknown(value: Any) -> bool:
    """True when `value` or anything nested in it is unknown."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def to_engine(value: Any, skip_internal: bool = True) -> Any:
    """`value` as the engine marshals it: unknown -> sentinel string, numbers -> float, keys sorted, and (like the
    CLI's `SkipInternalKeys`) no `__`-prefixed internal keys."""
    kind = type(value)  # the SDK decodes to exactly these types: take them first, without isinstance's MRO walks
    if kind is str or kind is float or kind is bool or value is None:
        return value
    if kind is int:
        return float(value)
    if kind is list:
        return [to_engine(v, skip_internal) for v in value]
    if kind is dict and all(type(k) is str for k in value):
        return {k: to_engine(value[k], skip_internal) for k in sorted(value)
                if not (skip_internal and k.startswith("__"))}
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): to_engine(v, skip_internal) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
                if not (skip_internal and str(k).startswith("__"))}
    if isinstance(value, (list, tuple)):
        return [to_engine(v, skip_internal) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    raise TypeError(f"cannot marshal {type(value).__name__} value {value!r} for a policy pack")


def to_struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    """A `google.protobuf.Struct` of engine-form properties, the shape `AnalyzeRequest.properties` carries."""
    struct = struct_pb2.Struct()
    json_format.ParseDict(to_engine(properties), struct)
    return struct


def get_path(value: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (`properties.encryption.keySource`), or `default` when any step is missing."""
    current = value
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return default
    return current


def display(value: Any) -> str:
    """A short human rendering: unknowns as a preview shows them, whole floats without '.0'."""
    if is_unknown(value):
        return "(known after apply)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(display(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {display(v)}" for k, v in value.items()) + "}"
    return str(value)
