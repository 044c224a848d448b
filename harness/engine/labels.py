"""Labels on everything the harness creates, so that nothing it made can be lost.

Containers, networks and volumes carry the run, the xdist worker and the owning
process; a later run removes whatever belongs to a process that is gone.
Cached images carry ``CACHE`` instead: they are kept on purpose and pruned on request.
"""

from __future__ import annotations

import dataclasses
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
SCOPE = f"{PROJECT}.scope"  # one deployment (network, machines, pods): removed together
KEEP = f"{PROJECT}.keep"  # made with --keep: the sweep leaves it until asked for kept machines too
# --keep=on-failure: kept only where its scope has a marker (made when the scenario failed); swept otherwise.
KEEP_ON_FAILURE = "on-failure"
KEPT_MARKER = "kept-marker"  # the role of that marker: a volume, the one resource made after the fact


def _process_start(pid: int) -> str:
    """Start time of a process in clock ticks since boot (Linux); guards against PID reuse."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return "?"


def owner_of_this_process() -> str:
    """host/pid-namespace/pid/start-time: enough to tell, from the same namespace, whether it still runs."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{_pid_namespace()}/{pid}/{_process_start(pid)}"


def owner_is_alive(owner: str) -> bool:
    """True unless the owner is a process that this process can see has ended.

    Only an owner in the same PID namespace on the same host is judged: a CI job in
    another container (even one sharing the host's name through --network host) or
    another computer sharing the engine is never taken for dead.
    """
    try:
        hostname, namespace, pid_text, start = owner.split("/")
        pid = int(pid_text)
    except ValueError:
        return False  # not a label this harness writes: sweep it
    if hostname != socket.gethostname() or namespace != _pid_namespace():
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
    scope: str = ""
    keep_on_failure: bool = False

    def scoped(self) -> Ownership:
        """The same owner with a new scope: names that cannot collide, and one label to remove them all by."""
        return dataclasses.replace(self, scope=uuid.uuid4().hex[:6])

    def labels(self, role: str) -> dict[str, str]:
        labels = {RUN: self.run_id, WORKER: self.worker, OWNER: self.owner, ROLE: role}
        if self.scope:
            labels[SCOPE] = self.scope
        if self.keep:
            labels[KEEP] = "true"
        elif self.keep_on_failure:
            labels[KEEP] = KEEP_ON_FAILURE
        return labels

    def name(self, *parts: str) -> str:
        """A unique, readable name: deployer-harness-<run>-<worker>[-<scope>]-<parts>."""
        return "-".join([PROJECT, self.run_id, self.worker, *([self.scope] if self.scope else []), *parts])
