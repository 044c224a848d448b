"""``deployer-harness doctor``: what this computer lets the harness do, one line each with the fix; a non-zero exit
when something blocks a run."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from harness.engine.client import connect
from harness.engine.labels import Ownership
from harness.engine.probe import cgroup_version, privileged_works
from harness.errors import HarnessError
from harness.hosts.machine import INOTIFY_LIMIT, INOTIFY_PER_MACHINE

OK, WARN, FAIL = "ok", "warn", "fail"
GIB = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn (a run works, with less), fail (a run cannot work)
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        shown = [f"{self.status:<5} {self.name}: {self.detail}"]
        return shown + ([f"      fix: {self.fix}"] if self.fix and self.status != OK else [])


def run_checks(repo: Path, inotify_limit: Path = INOTIFY_LIMIT) -> list[Check]:
    checks = [_inotify(inotify_limit), _git_history(repo), _kind(), _debootstrap()]
    try:
        client = connect()
    except HarnessError as exc:
        return [Check("engine", FAIL, exc.message, exc.fix or ""), *checks]
    found = _engine(client)
    built = bool(client.images.list(filters={"reference": "deployer-harness/rootfs"}))
    return [*found, *(c if c.name != "debootstrap" or not built else _built_already(c) for c in checks)]


def _built_already(check: Check) -> Check:
    """Without debootstrap, a root filesystem already built (or loaded from a cache) still serves every run."""
    if check.status != FAIL:
        return check
    return Check(check.name, WARN, "not installed; the root filesystem is built already", check.fix)


def _engine(client: docker.DockerClient) -> list[Check]:
    info = client.info()
    version = str(client.version().get("Version", "?"))
    security = " ".join(info.get("SecurityOptions") or [])
    images = client.images.list(filters={"reference": "deployer-harness/rootfs"})
    image = str(images[0].id) if images else None
    ownership = Ownership(scope="doctor")  # its probe containers are labelled as a run's: any sweep removes them
    seen = cgroup_version(client, image, ownership) if image else None
    cgroup = seen or int(info.get("CgroupVersion") or 1)
    how = "in a container of this engine" if seen else "as the engine reports it"
    found = [
        Check("engine", OK, f"docker {version} ({info.get('OperatingSystem', '?')})"),
        Check("cgroup", OK, f"v{cgroup} ({how}), {info.get('CgroupDriver', '?')} driver: machines run on either"),
        Check(
            "apparmor",
            OK,
            "enabled: machines and pods run unconfined by it" if "apparmor" in security else "not in use",
        ),
    ]
    if image is None:
        found.append(Check("privileged", WARN, "not probed yet: the first run builds the image it probes with"))
    elif privileged_works(client, image, ownership):
        found.append(Check("privileged", OK, "allowed"))
    else:
        detail = "refused by this engine: machines use the CAP_SYS_ADMIN recipe; --cluster kind cannot run"
        found.append(Check("privileged", WARN, detail, "only --cluster kind needs them: the default cluster is sim"))
    return [*found, _disk(str(info.get("DockerRootDir") or "/var/lib/docker"))]


def _disk(root: str) -> Check:
    path = Path(root)
    if not path.exists():
        return Check("disk", WARN, f"the engine's data root {root} is not on this computer: free space unknown")
    free = shutil.disk_usage(path).free / GIB
    if free < 3:
        return Check("disk", FAIL, f"{free:.1f} GiB free under {root}", "free space: `deployer-harness prune`")
    if free < 10:
        return Check("disk", WARN, f"{free:.1f} GiB free under {root}", "machine images and clones want 10 GiB")
    return Check("disk", OK, f"{free:.0f} GiB free under {root}")


def _inotify(limit_file: Path) -> Check:
    try:
        limit = int(limit_file.read_text())
    except (OSError, ValueError):
        return Check("inotify", WARN, f"{limit_file} cannot be read: how many machines fit is unknown")
    machines = limit // INOTIFY_PER_MACHINE
    fix = "sysctl -w fs.inotify.max_user_instances=512"
    if machines < 4:
        return Check("inotify", FAIL, f"{limit} instances per user: {machines} machine(s) fit", fix)
    if machines < 16:
        return Check("inotify", WARN, f"{limit} instances per user: {machines} machines fit", fix)
    return Check("inotify", OK, f"{limit} instances per user: {machines} machines fit")


def _git_history(repo: Path) -> Check:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True
        )
    except OSError:
        return Check("git", WARN, "git is not installed: rollback cannot find a previous version", "install git")
    if "dubious ownership" in done.stderr:
        return Check("git", WARN, "git refuses the checkout (another user owns it)", "git config --global --add "
                     f"safe.directory {repo.resolve()}")  # fmt: skip
    if done.returncode != 0:
        return Check("git", WARN, f"{repo} is not a git checkout: rollback needs `rollback: {{ref|image}}`")
    if done.stdout.strip() == "true":
        return Check(
            "git",
            WARN,
            "a shallow clone: rollback finds no previous version",
            "git fetch --unshallow (in GitHub Actions: `fetch-depth: 0`)",
        )
    return Check("git", OK, "full history: rollback can find the previous version")


def _kind() -> Check:
    missing = [tool for tool in ("kind", "kubectl") if shutil.which(tool) is None]
    if missing:
        return Check("kind", OK, f"{' and '.join(missing)} not installed: DaemonSets run on the simulated cluster")
    return Check("kind", OK, "kind and kubectl installed: --cluster kind is available")


def _debootstrap() -> Check:
    if shutil.which("debootstrap") is None:
        return Check(
            "debootstrap",
            FAIL,
            "not installed: the machines' root filesystem cannot be built",
            "apt-get install -y debootstrap (or `make setup`)",
        )
    return Check("debootstrap", OK, "installed")
