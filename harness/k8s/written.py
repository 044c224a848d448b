"""Where a manifest writes something: the first of its files, and the line, where a finder finds it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.image_ref import ImageRef
from harness.kustomize.paths import FILE_NAMES

Finder = Callable[[list[str]], "int | None"]  # a file's lines -> the number of the line found, from 1


def locate(files: Iterable[Path], find: Finder) -> tuple[Path, int] | None:
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        number = find(lines)
        if number is not None:
            return path, number
    return None


def line_where(found: Callable[[str], bool]) -> Finder:
    """A finder of the first line that passes ``found``."""
    return lambda lines: next((n for n, line in enumerate(lines, 1) if found(line)), None)


def image_line(files: Iterable[Path], image: str) -> tuple[Path, int] | None:
    """The line that writes an image: `image: <it>`, else (a kustomization rewrote it) the `images:` entry whose
    `name:` is its name."""
    files = list(files)
    written = re.compile(rf"""^\s*-?\s*image:\s*["']?{re.escape(image)}["']?\s*(?:#.*)?$""")
    entry = re.compile(rf"""^\s*-?\s*name:\s*["']?{re.escape(ImageRef.parse(image).name)}["']?\s*(?:#.*)?$""")
    kustomizations = [f for f in files if f.name in FILE_NAMES]
    return locate(files, line_where(lambda line: bool(written.match(line)))) or locate(
        kustomizations, line_where(lambda line: bool(entry.match(line)))
    )
