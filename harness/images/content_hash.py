"""Content hashes that name cached images: same inputs, same tag, nothing rebuilt."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from docker.utils.build import exclude_paths


def context_files(root: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """The files ``docker build`` sends for this context: .dockerignore applies, as in docker-py."""
    ignore = root / ".dockerignore"
    patterns = []
    if ignore.is_file():
        patterns = [line.strip() for line in ignore.read_text().splitlines()]
        patterns = [p for p in patterns if p and not p.startswith("#")]
    included = exclude_paths(str(root), patterns, dockerfile=dockerfile)
    return sorted(p for p in included if not (root / p).is_dir() or (root / p).is_symlink())


def hash_tree(root: Path, *extra: str, dockerfile: str = "Dockerfile") -> str:
    """sha256 over the context's relative paths, executable bits and contents, plus ``extra`` strings.

    Files the build never sees (tests excluded by .dockerignore, say) do not change the tag.
    """
    digest = hashlib.sha256()
    for relative in context_files(root, dockerfile):
        path = root / relative
        digest.update(relative.encode())
        if path.is_symlink():
            digest.update(b"->" + os.readlink(path).encode())
            continue
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()
