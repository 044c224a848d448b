"""Flux's image-automation setters, applied to files: the value on a line marked ``# {"$imagepolicy": "ns:name"}``
becomes the policy's latest image (``name:tag``), its ``:tag`` or its ``:name``, quotes kept as written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.gitops.flux import Marker

_MARKED = re.compile(
    r"""^(?P<lead>\s*(?:-\s+)?(?:[^\s#:'"][^#:]*:\s+)?)(?P<quote>["']?)(?P<value>[^"'#\s]+)(?P=quote)"""
    r"""(?P<rest>\s*#\s*\{\s*"\$imagepolicy".*)$"""
)


@dataclass(frozen=True)
class Rewrite:
    file: Path
    line: int
    old: str
    new: str

    def describe(self, root: Path) -> str:
        try:
            shown = self.file.relative_to(root)
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}: {self.old} -> {self.new}"


def value_for(marker: Marker, image: str, tag: str) -> str:
    """What the setter writes: the image with the tag, the tag alone, or the image's name alone."""
    return {"tag": tag, "name": image}.get(marker.part, f"{image}:{tag}")


def set_images(markers: list[Marker], image: str, tag: str) -> tuple[list[Rewrite], list[Marker]]:
    """Rewrite each marked line in its file (the files are changed in place): the lines that changed, and the
    markers whose line holds no value the harness can read (or a `:digest`, which a simulation has not got)."""
    done, unread = [], []
    for file in dict.fromkeys(m.file for m in markers):
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)  # as `markers` reads
        for marker in (m for m in markers if m.file == file):
            text = lines[marker.line - 1]
            body = text.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
            found = _MARKED.match(body)
            if found is None or marker.part == "digest":
                unread.append(marker)
                continue
            new = value_for(marker, image, tag)
            if new != found["value"]:
                ending = text[len(body) :]
                lines[marker.line - 1] = f"{found['lead']}{found['quote']}{new}{found['quote']}{found['rest']}{ending}"
                done.append(Rewrite(file, marker.line, found["value"], new))
        file.write_text("".join(lines), encoding="utf-8")
    return done, unread
