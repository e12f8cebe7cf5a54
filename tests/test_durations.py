"""ISO 8601 durations as Key Vault's rotation policy takes them, compared safely by their shortest and longest span."""

from __future__ import annotations

import pytest

from settings.durations import parse_duration


@pytest.mark.parametrize(("text", "shortest", "longest"), [
    ("P90D", 90, 90), ("P1Y", 365, 366), ("P6M", 168, 186), ("P4W", 28, 28), ("PT48H", 2, 2),
    ("P1Y10D", 375, 376), ("P1DT12H", 1.5, 1.5), ("PT720H", 30, 30), ("P1M2W3DT4H5M6S", 28 + 14 + 3 + 4 / 24
                                                                    + 5 / 1440 + 6 / 86400, None),
])
def test_every_iso_8601_part_counts(text: str, shortest: float, longest: float | None) -> None:
    duration = parse_duration(text)
    assert duration is not None and duration.text == text
    assert duration.shortest_days == pytest.approx(shortest)
    if longest is not None:
        assert duration.longest_days == pytest.approx(longest)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "90D", "P-1D", "P1.5D", "p90d", "P90D ", "", "P1H", 90, None])
def test_what_is_not_a_duration_is_refused(text: object) -> None:
    assert parse_duration(text) is None
