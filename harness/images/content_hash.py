"""Content hashes that name cached images: same inputs, same tag, nothing rebuilt."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# Never part of an image's identity.
_SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def hash_tree(root: Path, *extra: str) -> str:
    """sha256 over every file's relative path, executable bit and content, plus ``extra`` strings."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode())
            if path.is_symlink():
                digest.update(b"->" + os.readlink(path).encode())
                continue
            digest.update(b"x" if os.access(path, os.X_OK) else b"-")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()
