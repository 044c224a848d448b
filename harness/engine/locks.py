"""A per-image file lock, so parallel processes build an image once, not once each."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _lock_dir() -> Path:
    path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deployer-harness" / "locks"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / "deployer-harness-locks"
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def build_lock(tag: str) -> Iterator[None]:
    name = tag.replace("/", "_").replace(":", "_")
    with open(_lock_dir() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
