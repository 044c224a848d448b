"""What each fault does to a machine, and how it is undone. Everything goes through the engine (docker exec,
pause, network), never the machine's sshd, which a fault may have taken away."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass

import docker.errors
from docker.models.networks import Network

from harness.errors import HarnessError
from harness.hosts.machine import Machine, wait_ready
from harness.state.diff import Change


@dataclass(frozen=True)
class FaultKind:
    strike: Callable[[Machine, Network, str | None], None]
    heal: Callable[[Machine, Network, str | None], None]
    ssh_works: bool  # whether the harness's own connection still answers while it lasts
    engine_works: bool = True  # whether the engine can still run a command in it (not paused, not stopped)
    units: tuple[str, ...] = ()  # units the fault itself changes: no deployer's doing

    def own_change(self, change: Change) -> bool:
        return change.section == "unit" and change.item in self.units


def _exec(machine: Machine, script: str, what: str) -> None:
    code, output = machine.exec(script)
    if code != 0:
        raise HarnessError(f"{machine.name}: could not {what}: {output.strip()}", fix=machine.shell_hint())


def _stop_sshd(machine: Machine, network: Network, path: str | None) -> None:
    # The listener goes; sessions already open stay (ssh.service kills only its main process), the harness's too.
    _exec(
        machine, "systemctl stop ssh.socket ssh.service 2>/dev/null; ! systemctl -q is-active ssh.service", "stop sshd"
    )


def _start_sshd(machine: Machine, network: Network, path: str | None) -> None:
    _exec(machine, "systemctl start ssh.service", "start sshd again")


def _pause(machine: Machine, network: Network, path: str | None) -> None:
    machine.container.pause()


def _unpause(machine: Machine, network: Network, path: str | None) -> None:
    machine.container.reload()
    if machine.container.status == "paused":
        machine.container.unpause()


def _power_off(machine: Machine, network: Network, path: str | None) -> None:
    machine.close()
    machine.container.stop(timeout=10)  # systemd's shutdown (SIGRTMIN+3), as `poweroff` does


def _power_on(machine: Machine, network: Network, path: str | None) -> None:
    machine.container.reload()
    if machine.container.status != "running":
        machine.container.start()
    _boot(machine, network)


def _reboot(machine: Machine, network: Network, path: str | None) -> None:
    """systemd shuts down and boots again: enabled units come back, /run and /tmp (tmpfs) start empty."""
    machine.close()
    machine.container.restart(timeout=10)
    _boot(machine, network)


def _boot(machine: Machine, network: Network) -> None:
    _readdress(machine, network)
    wait_ready(machine)


def _readdress(machine: Machine, network: Network) -> None:
    """The address the engine gave it (again), for the next pods and the harness's next connection."""
    machine.close()
    machine.container.reload()
    machine.address = machine.container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]


def _partition(machine: Machine, network: Network, path: str | None) -> None:
    """Off the test network: packets to it go nowhere (its connections hang, new ones find no route)."""
    network.disconnect(machine.container)


def _rejoin(machine: Machine, network: Network, path: str | None) -> None:
    """Back on the network, under its names. The engine gives the first free address, most often the one it had;
    the next pods are given whichever it is, and the harness's connection is made again."""
    request = machine.request
    try:
        network.connect(machine.container, aliases=[request.hostname, request.name, *request.aliases])
    except docker.errors.APIError as exc:
        if "already exists" not in str(exc):
            raise
    _readdress(machine, network)


def _fill_root(path: str) -> str:
    return f"/run/harness/full-{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def _fill(machine: Machine, network: Network, path: str | None) -> None:
    """A small filesystem over the path, holding its files and full: a write there fails with ENOSPC."""
    assert path is not None
    where, root = shlex.quote(path), _fill_root(path)
    _exec(
        machine,
        f"""set -e
mkdir -p {where} {root}
used=$(du -sk {where} | cut -f1)
mount -t tmpfs -o size=$((used + 256))k harness-full {root}
mkdir {root}/files && cp -a {where}/. {root}/files/
dd if=/dev/zero of={root}/filler bs=4k 2>/dev/null || true
mount --bind {root}/files {where}""",
        f"fill {path}",
    )


def _unfill(machine: Machine, network: Network, path: str | None) -> None:
    """What the deployer wrote while it was full stays, as on a real disk that filled up."""
    assert path is not None
    where, root = shlex.quote(path), _fill_root(path)
    _exec(
        machine,
        f"""set -e
mountpoint -q {root} || exit 0
umount {where}
find {where} -mindepth 1 -delete
cp -a {root}/files/. {where}/
umount {root} && rmdir {root}""",
        f"empty {path} again",
    )


def _nothing(machine: Machine, network: Network, path: str | None) -> None:
    return None


def _rotate(machine: Machine, network: Network, path: str | None) -> None:
    machine.rotate_host_keys()


def _restore(machine: Machine, network: Network, path: str | None) -> None:
    machine.restore_host_keys()


KINDS: dict[str, FaultKind] = {
    "stop-sshd": FaultKind(_stop_sshd, _start_sshd, ssh_works=True, units=("ssh.service", "ssh.socket")),
    "pause": FaultKind(_pause, _unpause, ssh_works=False, engine_works=False),
    "stop": FaultKind(_power_off, _power_on, ssh_works=False, engine_works=False),
    "partition": FaultKind(_partition, _rejoin, ssh_works=False),
    "fill-path": FaultKind(_fill, _unfill, ssh_works=True),
    "rotate-host-key": FaultKind(_rotate, _restore, ssh_works=True),
    "reboot": FaultKind(_reboot, _nothing, ssh_works=True),
    "outage": FaultKind(_nothing, _nothing, ssh_works=True),  # the world's: see Faults
}
