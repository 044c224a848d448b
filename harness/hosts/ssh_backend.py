"""testinfra hosts over one paramiko connection each, with TCP_NODELAY.

Without TCP_NODELAY every command costs about 48 ms of Nagle delay; with it
about 4 ms. Hosts are built directly: testinfra's get_host cache keys by spec
and would hand out a dead connection after a machine is recreated.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paramiko
from testinfra.backend.paramiko import IgnorePolicy, ParamikoBackend

READ_TIMEOUT = 120.0  # seconds without a byte from the machine before a command is given up: it stopped answering


class NoDelayParamikoBackend(ParamikoBackend):  # type: ignore[misc]
    def __init__(self, address: str, key_path: Path, *, port: int = 22, user: str = "root", timeout: int = 10):
        super().__init__(f"{user}@{address}:{port}", ssh_identity_file=str(key_path), timeout=timeout)
        self._address, self._port, self._user = address, port, user
        self.read_timeout = READ_TIMEOUT

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        sock = socket.create_connection((self._address, self._port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(IgnorePolicy())  # machines are new every run
        client.connect(
            self._address,
            port=self._port,
            username=self._user,
            key_filename=self.ssh_identity_file,
            sock=sock,
            timeout=self.timeout,
            look_for_keys=False,
            allow_agent=False,
        )
        return client

    def run_with_input(self, command: str, data: bytes) -> tuple[int, bytes, bytes]:
        """Run ``command`` with ``data`` on its stdin; open the connection again once if it was dropped."""
        try:
            return self._exec_with_input(command, data)
        except (paramiko.SSHException, ConnectionResetError, EOFError):
            self.close()
            return self._exec_with_input(command, data)

    def _exec_with_input(self, command: str, data: bytes) -> tuple[int, bytes, bytes]:
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise paramiko.SSHException("connection closed")
        watchdog = _Watchdog(transport, self.read_timeout)
        try:
            channel = transport.open_session()  # the watchdog bounds every wait; paramiko's own would race it
            try:
                channel.exec_command(command)
                channel.sendall(data)
                channel.shutdown_write()
                stdout = _drain(channel.recv, watchdog)
                stderr = _drain(channel.recv_stderr, watchdog)
                status = channel.recv_exit_status()
            finally:
                channel.close()
        except BaseException as exc:  # Ctrl-C included: the watchdog stops with the command
            if watchdog.stop() and isinstance(exc, (paramiko.SSHException, EOFError, OSError)):
                raise MachineSilent(self.read_timeout) from None
            raise
        if watchdog.stop():  # the connection closed under a command that had said all it would
            raise MachineSilent(self.read_timeout)
        return status, stdout, stderr

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()
            del self.__dict__["client"]


def _drain(receive: Callable[[int], bytes], watchdog: _Watchdog) -> bytes:
    """Everything a stream of the channel sends until its end; each piece tells the watchdog the machine answers."""
    pieces = []
    while piece := receive(1 << 16):
        watchdog.poke()
        pieces.append(piece)
    return b"".join(pieces)


class MachineSilent(Exception):
    """Nothing came back from the machine, not even an answer to a keepalive, for this long."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"nothing came back for {seconds:.0f} s")
        self.seconds = seconds


class _Watchdog:
    """Closes the connection when the machine has not answered for ``seconds`` (paused, its network cut): every
    wait of the command then ends, where paramiko's own waits (a session opened, a command started, its exit
    status) have none. The machine answers by the command's output, or by sshd's reply to a keepalive sent every
    second: a command that is silent for minutes on a live machine is never cut."""

    def __init__(self, transport: paramiko.Transport, seconds: float) -> None:
        self.transport, self.seconds = transport, seconds
        self.expired = False
        self._last = time.monotonic()
        self._done = threading.Event()
        self._asking = threading.Lock()  # one keepalive in flight at a time
        self._lock = threading.Lock()  # expiry against stop
        threading.Thread(target=self._watch, name="ssh-watchdog", daemon=True).start()

    def poke(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> bool:
        """No more watching; whether it had expired (the connection is closed then)."""
        with self._lock:
            self._done.set()
            return self.expired

    def _watch(self) -> None:
        interval = min(1.0, self.seconds / 4)
        while not self._done.wait(interval):
            if time.monotonic() - self._last > self.seconds:
                with self._lock:
                    if self._done.is_set():
                        return
                    self.expired = True
                self.transport.close()
                return
            if self._asking.acquire(blocking=False):
                threading.Thread(target=self._ask, name="ssh-keepalive", daemon=True).start()

    def _ask(self) -> None:
        try:  # sshd answers any global request, a refusal included; a paused machine never does
            self.transport.global_request("keepalive@openssh.com", wait=True)
            if self.transport.is_active():
                self.poke()
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            self._asking.release()
