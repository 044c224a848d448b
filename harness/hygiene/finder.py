"""Whether a text holds one of the run's secret values, in any form the masker knows (as is, base64, URL- or
JSON-escaped, a cron line's, a multi-line key's lines). Values shorter than :data:`SHORTEST` are left out: a
Secret's `root` or `22` is no secret worth a finding, and would be found everywhere; so are public keys."""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.state.diff import masker

SHORTEST = 6
_PUBLIC_KEY = re.compile(r"^(?:\S+\s+)?(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-\S+|sk-\S+)\s+AAAA[0-9A-Za-z+/=]+", re.M)


class SecretFinder:
    def __init__(self, values: Iterable[str]) -> None:
        self.values = [value for value in values if len(value.strip()) >= SHORTEST and not _public(value)]
        self._mask = masker(self.values)

    def holds(self, text: str) -> bool:
        return bool(self.values) and self._mask(text) != text

    def mask(self, text: str) -> str:
        return self._mask(text)


def _public(value: str) -> bool:
    """A public key (or a known_hosts file of them): handed out, but not secret."""
    lines = [line for line in value.strip().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return bool(lines) and all(_PUBLIC_KEY.match(line.strip()) for line in lines)
