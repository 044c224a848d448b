"""What the engine allows, probed once per process; the container recipes follow from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from harness.engine.labels import Ownership


@dataclass(frozen=True)
class Capabilities:
    server_version: str
    cgroup_version: int
    privileged: bool
    apparmor: bool

    def describe(self) -> str:
        mode = "privileged" if self.privileged else "unprivileged (CAP_SYS_ADMIN recipe)"
        return f"docker {self.server_version}, cgroup v{self.cgroup_version}, {mode}"


def probe(client: docker.DockerClient, image: str, ownership: Ownership) -> Capabilities:
    """Ask the engine directly; ``image`` is any local image that has /bin/true."""
    info = client.info()
    security = " ".join(info.get("SecurityOptions") or [])
    return Capabilities(
        server_version=str(client.version().get("Version", "?")),
        cgroup_version=_cgroup_version(client, image, ownership) or int(info.get("CgroupVersion") or 1),
        privileged=_privileged_works(client, image, ownership),
        apparmor="apparmor" in security,
    )


def _cgroup_version(client: docker.DockerClient, image: str, ownership: Ownership) -> int | None:
    """As systemd decides it: the type of the filesystem at /sys/fs/cgroup in a container of this engine (what the
    machines will see), never /proc/self/cgroup, which still lists v1 hierarchies on a v2 mount."""
    try:
        found = client.containers.run(
            image,
            ["stat", "-f", "-c", "%T", "/sys/fs/cgroup"],
            entrypoint=[],
            network_mode="none",
            labels=ownership.labels("probe"),
            remove=True,
        )
    except docker.errors.APIError:
        return None
    kind = found.decode(errors="replace").strip() if isinstance(found, bytes) else ""
    return 2 if kind == "cgroup2fs" else 1 if kind else None


def _privileged_works(client: docker.DockerClient, image: str, ownership: Ownership) -> bool:
    # Some sandboxes lack a capability in the bounding set: --privileged then fails at start.
    container = client.containers.create(
        image, ["true"], entrypoint=[], privileged=True, network_mode="none", labels=ownership.labels("probe")
    )
    try:
        container.start()
        return int(container.wait(timeout=60)["StatusCode"]) == 0
    except docker.errors.APIError:
        return False
    finally:
        container.remove(force=True)


def systemd_machine_options(caps: Capabilities) -> dict[str, Any]:
    """docker-py ``create`` options that run systemd as PID 1 under these capabilities."""
    options: dict[str, Any] = {
        "tmpfs": {"/run": "rw,exec,mode=755", "/run/lock": "rw,noexec,nosuid,mode=1777"},
        "environment": {"container": "docker"},
        "stop_signal": "SIGRTMIN+3",
    }
    if caps.privileged:
        options["privileged"] = True
    else:
        options["cap_add"] = ["SYS_ADMIN", "NET_ADMIN"]
        options["security_opt"] = ["seccomp=unconfined"] + (["apparmor=unconfined"] if caps.apparmor else [])
    if caps.cgroup_version == 1:
        options["volumes"] = {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}}
    else:
        # Private cgroup namespace; harness-init remounts it writable for systemd.
        options["cgroupns"] = "private"
    return options
