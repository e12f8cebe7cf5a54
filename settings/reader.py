"""A reader over raw stack config that collects every problem instead of stopping at the first.

Platform engineers fix a stack file faster when one run lists all that is wrong, each line naming the config key, the
bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pulumi import RunError

from .durations import EXAMPLES, Duration, parse_duration

T = TypeVar("T")

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_MISSING = object()


class SettingsError(RunError):
    """Raised with every settings problem at once; the Pulumi CLI prints a RunError without a stack trace."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The stack configuration has {len(self.problems)} problem(s):\n{lines}")


def show(value: Any) -> str:
    """Render a config value the way the user wrote it, for error messages."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def choices(allowed: Iterable[Any]) -> str:
    return "one of " + ", ".join(str(a) for a in allowed)


def suggestion(value: Any, allowed: Iterable[Any]) -> str:
    """"; did you mean 'x'?" for the allowed value closest to a mistyped one (case and spelling), else ""."""
    if not isinstance(value, str) or not value:
        return ""
    options = {str(a).lower(): str(a) for a in allowed}
    if value.lower() in options and options[value.lower()] != value:
        return f"; did you mean {options[value.lower()]!r}?"
    close = difflib.get_close_matches(value.lower(), list(options), n=1, cutoff=0.6)
    return f"; did you mean {options[close[0]]!r}?" if close else ""


class Reader:
    """Reads typed values out of nested raw config, recording a problem for each value that does not fit."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def warn(self, key: str, message: str) -> None:
        """Something that works today but needs attention soon (a model version close to retirement)."""
        self.warnings.append(f"{key}: {message}")

    def problem(self, key: str, value: Any, allowed: str, what: str = "is not allowed", hint: str = "") -> None:
        """`hint` (a "did you mean") comes last, after what is allowed."""
        self.problems.append(f"{key}: {show(value)} {what} (allowed: {allowed}){hint}")

    def missing(self, key: str, allowed: str) -> None:
        self.problems.append(f"{key}: is required (allowed: {allowed})")

    def raise_if_any(self) -> None:
        if self.problems:
            raise SettingsError(self.problems)

    # --- structure -------------------------------------------------------------------------------------------

    def obj(self, raw: Any, key: str, known: Iterable[str]) -> Mapping[str, Any]:
        """A mapping; unknown sub-keys are reported, since a typo would otherwise silently keep a default."""
        if raw is None or raw is _MISSING:
            return {}
        if not isinstance(raw, Mapping):
            self.problem(key, raw, "a mapping of settings", "is not a mapping")
            return {}
        known_set = set(known)
        for sub in raw:
            if sub not in known_set:
                self.problem(f"{key}.{sub}", raw[sub], choices(sorted(known_set)), "is not a known setting",
                             suggestion(sub, known_set))
        return raw

    def items(self, raw: Any, key: str) -> list[Any]:
        if raw is None or raw is _MISSING:
            return []
        if not isinstance(raw, list):
            self.problem(key, raw, "a list", "is not a list")
            return []
        return raw

    # --- scalars ---------------------------------------------------------------------------------------------

    def string(self, raw: Mapping[str, Any], sub: str, key: str, default: Any = _MISSING,
               pattern: re.Pattern[str] | None = None, allowed: str = "a string") -> Any:
        value = raw.get(sub, default)
        if value is _MISSING:
            self.missing(key, allowed)
            return None
        if value is None:
            return None
        if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
            self.problem(key, value, allowed)
            return None
        return value

    def enum(self, raw: Mapping[str, Any], sub: str, key: str, allowed: Sequence[str],
             default: Any = _MISSING) -> Any:
        value = raw.get(sub, default)
        if value is _MISSING:
            self.missing(key, choices(allowed))
            return None
        if value not in allowed:
            self.problem(key, value, choices(allowed), hint=suggestion(value, allowed))
            return None
        return value

    def boolean(self, raw: Mapping[str, Any], sub: str, key: str, default: bool) -> bool:
        value = raw.get(sub, default)
        if not isinstance(value, bool):
            self.problem(key, value, "true or false")
            return default
        return value

    def integer(self, raw: Mapping[str, Any], sub: str, key: str, low: int, high: int,
                default: Any = _MISSING) -> Any:
        value = raw.get(sub, default)
        allowed = f"a whole number from {low} to {high}"
        if value is _MISSING:
            self.missing(key, allowed)
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(key, value, allowed)
            return None
        return value

    def guid(self, raw: Mapping[str, Any], sub: str, key: str) -> Any:
        return self.string(raw, sub, key, pattern=GUID_RE,
                           allowed="a GUID such as 00000000-0000-0000-0000-000000000000 (an Entra object id)")

    def duration(self, raw: Mapping[str, Any], sub: str, key: str, default: str,
                 minimum_days: int = 0) -> Duration | None:
        """An ISO 8601 duration (years, months, weeks, days, hours...), at least `minimum_days` long."""
        value = raw.get(sub, default)
        allowed = f"an ISO 8601 duration such as {EXAMPLES}"
        if minimum_days:
            allowed += f", at least {minimum_days} days"
        parsed = parse_duration(value)
        if parsed is None:
            self.problem(key, value, allowed, "is not an ISO 8601 duration")
            return None
        if parsed.shortest_days < minimum_days:
            self.problem(key, value, allowed, "is too short")
            return None
        return parsed

    def private_network(self, value: Any, key: str, example: str) -> ipaddress.IPv4Network | None:
        """A CIDR that is valid, written with its network address, and inside the private (RFC 1918) ranges."""
        allowed = f"a private IPv4 CIDR such as {example}"
        if value is None:
            self.missing(key, allowed)
            return None
        if not isinstance(value, str):
            self.problem(key, value, allowed, "is not a CIDR")
            return None
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            what = "has host bits set" if "host bits" in str(exc) else "is not a CIDR"
            self.problem(key, value, allowed, what)
            return None
        if not isinstance(network, ipaddress.IPv4Network) or not any(
            network.subnet_of(block) for block in PRIVATE_BLOCKS
        ):
            self.problem(key, value, allowed + " (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)", "is not private")
            return None
        return network


PRIVATE_BLOCKS = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)

