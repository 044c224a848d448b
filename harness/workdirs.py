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
        try:
            if _ours(folder) and _gone(client, folder) and _remove(folder):
                removed.append(folder)
        except OSError:  # another run's sweep removed it meanwhile
            continue
    return removed


def _gone(client: docker.DockerClient, folder: Path) -> bool:
    """Its owner has ended and kept no machine; an older folder without an owner file is never gone."""
    try:
        owner, run = (folder / OWNER_FILE).read_text().split()[:2]
    except ValueError:
        return False
    return not owner_is_alive(owner) and not _kept(client, run)


def _remove(folder: Path) -> bool:
    """Everything but the owner file first, then the folder: one left half removed is found again."""
    for entry in folder.iterdir():
        if entry.name == OWNER_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    if all(entry.name == OWNER_FILE for entry in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()


def _ours(folder: Path) -> bool:
    """A real folder of this user (never a link someone put in a shared /tmp)."""
    try:
        found = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid()


def _kept(client: docker.DockerClient, run: str) -> bool:
    """Machines of the run kept with --keep, or a marker of machines kept because their scenario failed."""
    kept = {"label": [f"{RUN}={run}", f"{KEEP}=true"]}
    return bool(client.containers.list(all=True, sparse=True, filters=kept) or client.volumes.list(filters=kept))
