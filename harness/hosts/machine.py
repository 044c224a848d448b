"""Start simulated machines, wait until they are ready, hand out testinfra hosts."""

from __future__ import annotations

import contextlib
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import paramiko
import testinfra.host
from docker.models.containers import Container
from docker.models.networks import Network

from harness.engine.archive import Entry, put_files
from harness.engine.labels import Ownership
from harness.engine.probe import Capabilities, systemd_machine_options
from harness.errors import HarnessError
from harness.hosts.host_keys import HostKeys, generate_host_keys
from harness.hosts.keys import KeyPair
from harness.hosts.ssh_backend import MachineSilent, NoDelayParamikoBackend
from harness.world.trust import trust

READY_STATES = {"running", "degraded"}


@dataclass(frozen=True)
class MachineRequest:
    """What to start: a name the tests use, the image, and how the network knows it."""

    name: str
    image: str
    kind: str
    hostname: str
    aliases: tuple[str, ...] = ()
    volumes: tuple[tuple[str, str, str], ...] = ()  # (Docker volume, path in the machine, "ro" or "rw")
    files: tuple[Entry, ...] = ()  # put in before it starts
    host_keys: HostKeys | None = None  # its SSH host keys (a clone's are its original's); None: new ones
    dns: tuple[str, ...] = ()  # where the network's resolver sends names it does not know (the world's server)
    trusted_ca: bytes | None = None  # a CA it trusts besides the system's (the world's)


@dataclass
class Machine:
    request: MachineRequest
    container: Container
    address: str
    key: KeyPair
    host_keys: HostKeys  # what the world knows it by (the known_hosts Secret); a rotation changes only the machine's
    _host: testinfra.host.Host | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.request.name

    @property
    def host(self) -> testinfra.host.Host:
        """One SSH connection per machine, opened on first use."""
        if self._host is None:
            self._host = testinfra.host.Host(NoDelayParamikoBackend(self.address, self.key.private_path))
        return self._host

    def exec(self, command: str) -> tuple[int, str]:
        """Run a shell command through the engine (works even when sshd does not)."""
        result = self.container.exec_run(["sh", "-c", command], demux=False)
        return result.exit_code, (result.output or b"").decode(errors="replace")

    def exec_script(self, script: str) -> tuple[int, bytes, bytes]:
        """A shell script through the engine, as ``run_script`` runs one over SSH: for when sshd cannot answer."""
        result = self.container.exec_run(["sh", "-c", script], demux=True)
        out, err = result.output or (None, None)
        return result.exit_code, out or b"", err or b""

    def run_script(self, script: str) -> tuple[int, bytes, bytes]:
        """Run a shell script (sent on stdin) over the machine's SSH connection: (exit code, stdout, stderr).

        Bytes, not text: testinfra would run Python on the target to guess an encoding. A connection a
        deployer dropped (sshd restarted hard) is opened again, once.
        """
        backend = self.host.backend
        assert isinstance(backend, NoDelayParamikoBackend)
        try:
            return backend.run_with_input("sh -s", script.encode())
        except MachineSilent as exc:
            backend.close()  # what the connection is in the middle of is unknown: the next command opens another
            raise HarnessError(
                f"{self.name} ({self.address}) stopped answering: {exc}", fix=self.shell_hint()
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise HarnessError(f"{self.name}: SSH to {self.address} failed: {exc}", fix=self.shell_hint()) from None

    def own_client(self) -> str | None:
        """The harness's connection as sshd sees it ("address port", SSH_CLIENT's first two words); None before it
        is opened."""
        backend = self._host.backend if self._host is not None else None
        client = backend.__dict__.get("client") if isinstance(backend, NoDelayParamikoBackend) else None  # not opened
        transport = client.get_transport() if client is not None else None
        if transport is None or transport.sock is None:
            return None
        address, port = transport.sock.getsockname()[:2]
        return f"{address} {port}"

    def rotate_host_keys(self) -> HostKeys:
        """New host keys on the machine, as a reinstalled host has: sshd serves them from its next connection on
        (a reload; the harness's open connection stays). The known_hosts Secret keeps the old ones."""
        fresh = generate_host_keys()
        self._serve_host_keys(fresh)
        return fresh

    def restore_host_keys(self) -> None:
        """The keys the world knows it by, served again."""
        self._serve_host_keys(self.host_keys)

    def _serve_host_keys(self, keys: HostKeys) -> None:
        """The keys on disk, and sshd serving them before this returns: a reload re-executes sshd, and a connection
        made in between would be refused rather than meet the new key."""
        put_files(self.container, keys.files())
        code, output = self.exec("systemctl reload ssh.service")
        if code != 0:
            raise HarnessError(f"{self.name}: sshd did not take its host keys: {output.strip()}", fix=self.shell_hint())
        key = keys.public["ed25519"].split()[1]
        scan = f"ssh-keyscan -T 1 -t ed25519 127.0.0.1 2>/dev/null | grep -qF {key}"
        if self.exec(f"for _ in $(seq 100); do {scan} && exit 0; sleep 0.05; done; exit 1")[0] != 0:
            raise HarnessError(f"{self.name}: sshd serves no new host key after a reload", fix=self.shell_hint())

    def shell_hint(self) -> str:
        return (
            f"{self.name}: docker exec -it {self.container.name} bash   "
            f"| ssh -i {self.key.private_path} -o StrictHostKeyChecking=no root@{self.address}"
        )

    def close(self) -> None:
        if self._host is not None:
            backend = self._host.backend
            if isinstance(backend, NoDelayParamikoBackend):
                backend.close()
            self._host = None


def start_machines(
    client: docker.DockerClient,
    caps: Capabilities,
    network: Network,
    requests: list[MachineRequest],
    key: KeyPair,
    ownership: Ownership,
    *,
    timeout: float = 90.0,
) -> list[Machine]:
    """Start all machines in parallel; raise with each failing machine's boot log."""
    check_inotify_budget(len(requests))
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        futures = [pool.submit(_start_one, client, caps, network, r, key, ownership, timeout) for r in requests]
        machines, errors = [], []
        for future in futures:
            try:
                machines.append(future.result())
            except HarnessError as exc:
                errors.append(str(exc))
    if errors:
        raise HarnessError("machines did not become ready:\n" + "\n".join(errors))
    return machines


def _start_one(
    client: docker.DockerClient,
    caps: Capabilities,
    network: Network,
    request: MachineRequest,
    key: KeyPair,
    ownership: Ownership,
    timeout: float,
) -> Machine:
    endpoint = client.api.create_endpoint_config(aliases=[request.hostname, request.name, *request.aliases])
    options = systemd_machine_options(caps)
    options["volumes"] = {**options.get("volumes", {}), **{v: {"bind": p, "mode": m} for v, p, m in request.volumes}}
    try:
        container = client.containers.create(
            request.image,
            name=ownership.name(request.name),
            hostname=request.hostname,
            labels={**ownership.labels("machine"), "deployer-harness.machine": request.name},
            network=network.name,
            networking_config={network.name: endpoint},
            dns=list(request.dns) or None,
            detach=True,
            **options,
        )
    except docker.errors.APIError as exc:
        raise HarnessError(f"{request.name} ({request.kind}): the engine refused the container: {exc}") from None
    try:
        host_keys = request.host_keys or generate_host_keys()  # a testbed gives them (made ahead); others: now
        put_files(
            container,
            [
                Entry("/root/.ssh", None, 0o700),
                Entry("/root/.ssh/authorized_keys", key.public_openssh.encode(), 0o600),
                *host_keys.files(),
                *request.files,
            ],
        )
        if request.trusted_ca is not None:
            trust(container, request.trusted_ca)
        container.start()
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        machine = Machine(request, container, address, key, host_keys)
        wait_ready(machine, timeout)
        return machine
    except Exception as exc:
        detail = str(exc) if isinstance(exc, HarnessError) else f"{request.name}: {type(exc).__name__}: {exc}"
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)
        raise HarnessError(detail) from None


INOTIFY_PER_MACHINE = 4  # measured: systemd as PID 1 holds 3 to 5 inotify instances, logind 1
INOTIFY_LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")


def check_inotify_budget(machines: int, limit_file: Path = INOTIFY_LIMIT) -> None:
    """Every machine's systemd runs as root of this computer's kernel and draws on one per-user inotify budget.

    Past it, systemd stays "initializing" and path units fail, with nothing in the logs to say why.
    """
    try:
        limit = int(limit_file.read_text())
    except (OSError, ValueError):
        return
    needed = machines * INOTIFY_PER_MACHINE
    if needed > limit:
        raise HarnessError(
            f"{machines} machines need about {needed} inotify instances, and this computer allows {limit} per user "
            "(fs.inotify.max_user_instances); their systemd would hang while booting",
            fix=f"on the computer running the tests: sysctl -w fs.inotify.max_user_instances={max(512, needed * 2)}",
        )


def wait_ready(machine: Machine, timeout: float = 90.0) -> None:
    """Until systemd is up and sshd answers the harness (after a start, or a reboot)."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        machine.container.reload()
        if machine.container.status != "running":
            break
        # One call that returns when the boot ends, rather than a call every 0.1 s: each would cost the engine an
        # exec (a runtime process) while the machines boot, and CPU is what a run's start is short of. It fails
        # at once while systemd is too young to answer; then again. A systemd older than 240 (no --wait), or no
        # timeout(1): asked without waiting, every 0.1 s, as before.
        left = max(1, math.ceil(deadline - time.monotonic()))
        _, state = machine.exec(
            f's=$(timeout {left} systemctl is-system-running --wait 2>/dev/null) || [ -n "$s" ] ||'
            ' s=$(systemctl is-system-running 2>/dev/null); echo "$s"'
        )
        state = state.strip()
        if state in READY_STATES:
            break
        time.sleep(0.05 if state in ("", "offline") else 0.1)  # too young to answer: it will in a moment
    if state not in READY_STATES:
        raise HarnessError(f"{machine.name} ({machine.request.kind}): systemd says {state!r}\n" + _boot_log(machine))
    while True:  # sshd is started by systemd, so it is up or about to be
        try:
            machine.host.run("true")
            return
        except (OSError, paramiko.SSHException) as exc:
            machine.close()
            if time.monotonic() > deadline:
                raise HarnessError(f"{machine.name}: sshd does not answer ({exc})\n" + _boot_log(machine)) from None
            time.sleep(0.1)


def _boot_log(machine: Machine) -> str:
    logs = machine.container.logs(tail=30).decode(errors="replace")
    _, failed = machine.exec("systemctl --failed --no-legend --no-pager 2>&1")
    return f"  container log:\n{_indent(logs)}\n  failed units:\n{_indent(failed)}"


def _indent(text: str) -> str:
    return "\n".join(f"    | {line}" for line in text.strip().splitlines()) or "    | (nothing)"
