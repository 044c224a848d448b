"""The engine's timestamps (RFC 3339, nanoseconds) as Python reads them."""

from __future__ import annotations

import datetime


def instant(text: str) -> datetime.datetime:
    """The engine's RFC 3339 time, nanoseconds cut to what Python reads."""
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")
