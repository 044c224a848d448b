"""Files into a created (not yet started) container, with exact modes and owners.

``put_archive`` before start works on any engine, local or remote; it must not
target a tmpfs mount, where the engine reports success and writes nothing.
"""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass

from docker.models.containers import Container


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path inside the container
    content: bytes | None = None  # None: a directory
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


def put_files(container: Container, entries: list[Entry]) -> None:
    buffer = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path.lstrip("/"))
            info.mode, info.uid, info.gid, info.mtime = entry.mode, entry.uid, entry.gid, now
            if entry.content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(entry.content)
                tar.addfile(info, io.BytesIO(entry.content))
    if not container.put_archive("/", buffer.getvalue()):
        raise RuntimeError(f"could not copy files into {container.name}")
