"""Production addresses in a manifest, mapped to the simulated machines.

Nothing is ever sent to the real address: the value the deployer sees is the
machine's address on the internal test network.
"""

from __future__ import annotations

import re


class AddressMap:
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = dict(mapping)
        if mapping:
            alternatives = "|".join(re.escape(a) for a in sorted(mapping, key=len, reverse=True))
            # Whole addresses only: 192.0.2.1 must not match inside 192.0.2.10.
            self._pattern: re.Pattern[str] | None = re.compile(rf"(?<![\w.])({alternatives})(?![\w])")
        else:
            self._pattern = None

    def apply(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.mapping[m.group(1)], text)
