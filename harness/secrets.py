"""Every secret value a deployment hands out, and the mask that hides them wherever host content is shown.

The registry grows as manifests are read: the deployer's own, the drift check's and the previous version's,
each with its Secrets, plus the spec's test values and the run's SSH key.
"""

from __future__ import annotations

from harness.k8s.manifest import Manifest
from harness.state.diff import Mask, masker


class SecretRegistry:
    def __init__(self, values: list[str] | None = None) -> None:
        self._values: list[str] = []
        self._mask: Mask = masker([])
        self.keys: dict[str, str] = {}  # value -> the key that handed it out (a Secret's, the spec's)
        self.add(*(values or []))

    def add(self, *values: str) -> None:
        new = [v for v in values if v not in self._values]
        if new:
            self._values += new
            self._mask = masker(self._values)

    def add_secrets(self, secrets: dict[str, dict[str, str]]) -> None:
        """Secrets by name, each a map of keys to values (a manifest's, or the spec's test values)."""
        for entries in secrets.values():
            for key, value in entries.items():
                self.keys.setdefault(value, key)
        self.add(*(value for entries in secrets.values() for value in entries.values()))

    def read(self, manifest: Manifest) -> Manifest:
        """A manifest the deployment runs: its Secrets are masked from now on."""
        self.add_secrets(manifest.secrets)
        return manifest

    @property
    def values(self) -> list[str]:
        return list(self._values)

    def mask(self, text: str) -> str:
        return self._mask(text)
