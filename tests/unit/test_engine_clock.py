"""The engine's RFC 3339 timestamps: nanoseconds cut, offsets kept."""

from __future__ import annotations

import datetime

import pytest

from harness.engine.clock import instant


def test_nanoseconds_are_cut_to_microseconds_and_z_is_utc() -> None:
    assert instant("2026-12-01T20:13:08.123456789Z") == datetime.datetime(
        2026, 12, 1, 20, 13, 8, 123456, tzinfo=datetime.timezone.utc
    )
    assert instant("2026-12-01T20:13:08Z").microsecond == 0


@pytest.mark.parametrize("text", ["2026-12-01T22:13:08.5+02:00", "2026-12-01T15:13:08.500-05:00"])
def test_an_offset_is_honoured(text: str) -> None:
    assert instant(text) == instant("2026-12-01T20:13:08.5Z")


def test_anything_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        instant("yesterday")
