"""Labels on everything the harness creates, so that nothing it made can be lost.

Containers, networks and volumes carry the run, the xdist worker and the owning
process; a later run removes whatever belongs to a process that is gone.
Cached images carry ``CACHE`` instead: they are kept on purpose and pruned on request.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from harness import PROJECT

RUN = f"{PROJECT}.run"
WORKER = f"{PROJECT}.worker"
OWNER = f"{PROJECT}.owner"
ROLE = f"{PROJECT}.role"
CACHE = f"{PROJECT}.cache"
KEEP = f"{PROJECT}.keep"  # made with --keep: the sweep leaves it until asked for kept machines too


def _process_start(pid: int) -> str:
    """Start time of a process in clock ticks since boot (Linux); guards against PID reuse."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_of_this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start(pid)}"


def owner_is_alive(owner: str) -> bool:
    """True unless the owner is a process on this machine that has ended.

    Resources of another machine sharing the engine are never judged dead here.
    """
    try:
        hostname, pid_text, start = owner.split("/")
        pid = int(pid_text)
    except ValueError:
        return False  # not ours to understand: a broken label, sweep it
    if hostname != socket.gethostname():
        return True
    if not os.path.exists(f"/proc/{pid}"):
        return False
    return start == "?" or _process_start(pid) == start


@dataclass(frozen=True)
class Ownership:
    """Who a resource belongs to; ``labels()`` goes on every container, network and volume."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    worker: str = field(default_factory=lambda: os.environ.get("PYTEST_XDIST_WORKER", "main"))
    owner: str = field(default_factory=owner_of_this_process)
    keep: bool = False

    def labels(self, role: str) -> dict[str, str]:
        labels = {RUN: self.run_id, WORKER: self.worker, OWNER: self.owner, ROLE: role}
        if self.keep:
            labels[KEEP] = "true"
        return labels

    def name(self, *parts: str) -> str:
        """A unique, readable name: deployer-harness-<run>-<worker>-<parts>."""
        return "-".join([PROJECT, self.run_id, self.worker, *parts])
