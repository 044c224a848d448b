"""An image reference in its parts: `registry:5000/ns/name:tag@sha256:...`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRef:
    name: str  # with its registry and port, without tag or digest
    tag: str  # "" when none
    digest: str  # "" when none

    @classmethod
    def parse(cls, image: str) -> ImageRef:
        rest, _, digest = image.partition("@")
        if ":" in rest.rsplit("/", 1)[-1]:  # a colon after the last slash is a tag's, not a registry port's
            name, _, tag = rest.rpartition(":")
            return cls(name, tag, digest)
        return cls(rest, "", digest)

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")
