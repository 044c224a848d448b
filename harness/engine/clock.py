"""The engine's timestamps (RFC 3339, nanoseconds) as Python reads them."""

from __future__ import annotations

import datetime
import re

_RFC3339 = re.compile(r"(?P<head>[^.Zz+]+?)(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d\d:\d\d)$")


def instant(text: str) -> datetime.datetime:
    """The engine's RFC 3339 time with its offset (Docker's is always Z; other engines' need not be), nanoseconds
    cut to the microseconds Python keeps."""
    found = _RFC3339.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    fraction = ((found["fraction"] or "") + "000000")[:6]
    zone = "+00:00" if found["zone"] in ("Z", "z") else found["zone"]
    return datetime.datetime.fromisoformat(f"{found['head']}.{fraction}{zone}")
