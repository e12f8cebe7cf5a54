"""ISO 8601 durations as Key Vault's rotation policy takes them: years, months, weeks, days and a time part.

A month or a year is not a fixed number of days, so a duration is compared by its bounds: `shortest_days` when a
minimum must be met (P1M counts as 28 days) and `longest_days` when a maximum must not be passed (P1M as 31). That
keeps every comparison safe on any calendar date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# PnYnMnWnDTnHnMnS; every part optional but at least one present, and a 'T' needs a time part after it.
_DURATION_RE = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$")
EXAMPLES = "P90D, P6M, P1Y, P4W or PT720H"


@dataclass(frozen=True)
class Duration:
    """A parsed ISO 8601 duration; `text` is what the user wrote (and what Azure receives)."""

    text: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def _days(self, year_days: int, month_days: int) -> float:
        clock = (self.hours * 3600 + self.minutes * 60 + self.seconds) / 86400
        return self.years * year_days + self.months * month_days + self.weeks * 7 + self.days + clock

    @property
    def shortest_days(self) -> float:
        """The fewest days this duration can span (365-day years, 28-day months): use it against minimums."""
        return self._days(365, 28)

    @property
    def longest_days(self) -> float:
        """The most days this duration can span (366-day years, 31-day months): use it against maximums."""
        return self._days(366, 31)


def parse_duration(text: object) -> Duration | None:
    """The duration `text` spells, or None when it is not an ISO 8601 duration (a bare 'P' or 'PT' is not one)."""
    if not isinstance(text, str):
        return None
    match = _DURATION_RE.match(text)
    if match is None or not any(match.groupdict().values()):
        return None
    if "T" in text and not any(match.group(part) for part in ("hours", "minutes", "seconds")):
        return None
    values = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    return Duration(text, **values)
