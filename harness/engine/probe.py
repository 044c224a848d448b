"""What the engine allows, probed once per process; the container recipes follow from it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


CGROUP2_MAGIC, TMPFS_MAGIC, CGROUP_MAGIC = "63677270", "1021994", "27e0eb"  # statfs f_type, as stat %t prints


def probe(client: docker.DockerClient, image: str, ownership: Ownership) -> Capabilities:
    """Ask the engine directly; ``image`` is any local image with /bin/true and coreutils' stat. The two probe
    containers run side by side: the probe is on every run's way to its first machine."""
    with ThreadPoolExecutor(2, thread_name_prefix="probe") as pool:
        cgroup = pool.submit(cgroup_version, client, image, ownership)
        privileged = pool.submit(privileged_works, client, image, ownership)
        info = client.info()
        security = " ".join(info.get("SecurityOptions") or [])
        return Capabilities(
            server_version=str(client.version().get("Version", "?")),
            cgroup_version=cgroup.result() or int(info.get("CgroupVersion") or 1),
            privileged=privileged.result(),
            apparmor="apparmor" in security,
        )


def cgroup_version(client: docker.DockerClient, image: str, ownership: Ownership) -> int | None:
    """As systemd decides it: the type of the filesystem at /sys/fs/cgroup in a container of this engine (what the
    machines will see), never /proc/self/cgroup, which still lists v1 hierarchies on a v2 mount."""
    try:
        found = client.containers.run(
            image,
            ["stat", "-f", "-c", "%t", "/sys/fs/cgroup"],  # the magic number: no name table to be out of date
            entrypoint=[],
            network_mode="none",
            labels=ownership.labels("probe"),
            remove=True,
        )
    except docker.errors.DockerException:  # the engine refused, or stat failed: the engine's own word decides
        return None
    magic = found.decode(errors="replace").strip() if isinstance(found, bytes) else ""
    return {CGROUP2_MAGIC: 2, TMPFS_MAGIC: 1, CGROUP_MAGIC: 1}.get(magic)


def privileged_works(client: docker.DockerClient, image: str, ownership: Ownership) -> bool:
    # Some sandboxes lack a capability in the bounding set: --privileged then fails at start.
    try:
        container = client.containers.create(
            image, ["true"], entrypoint=[], privileged=True, network_mode="none", labels=ownership.labels("probe")
        )
    except docker.errors.APIError:  # refused at once (a user namespace, say)
        return False
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
