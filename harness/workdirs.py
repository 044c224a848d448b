"""The run's work folders (SSH keys, Job volumes' sources, verify's files): who owns each, and the sweep of those
whose run is gone.

Each folder holds an ``owner`` file: the owning process (as the engine labels carry it) and the run id. A folder
whose owner has ended goes, unless machines of its run were kept (their keys are in it); it goes with them, at the
sweep after ``sweep --kept``. Folders without an owner file (made by an older harness) are left alone.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import docker

from harness import PROJECT
from harness.engine.labels import KEEP, RUN, Ownership, owner_is_alive

OWNER_FILE = "owner"


def make_workdir(ownership: Ownership) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"{PROJECT}-{ownership.run_id}-"))
    (folder / OWNER_FILE).write_text(f"{ownership.owner}\n{ownership.run_id}\n")
    return folder


def sweep_workdirs(client: docker.DockerClient, root: Path | None = None) -> list[Path]:
    """Remove the work folders of runs that are gone (and kept nothing); the folders removed."""
    removed = []
    for folder in sorted(Path(root or tempfile.gettempdir()).glob(f"{PROJECT}-*")):
        if not _ours(folder):
            continue
        try:
            owner, run = (folder / OWNER_FILE).read_text().split()[:2]
        except (OSError, ValueError):
            continue
        if owner_is_alive(owner) or _kept(client, run):
            continue
        for entry in folder.iterdir():  # the owner file last: a folder left half removed is found again
            if entry.name != OWNER_FILE:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        if len(list(folder.iterdir())) == 1:
            shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def _ours(folder: Path) -> bool:
    """A real folder of this user (never a link someone put in a shared /tmp)."""
    try:
        found = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid()


def _kept(client: docker.DockerClient, run: str) -> bool:
    return bool(client.containers.list(all=True, filters={"label": [f"{RUN}={run}", f"{KEEP}=true"]}))
