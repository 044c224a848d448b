"""Each machine's own SSH host keys, made when it starts, as a real host has keys of its own.

A key built into the machine image would be the same on every machine of every run: a deployer that pins
``known_hosts`` would always pass, and a changed key could not be simulated. The public halves go into a
``known_hosts`` file the spec can hand the deployer as a Secret, as it hands the SSH key.

The three types Debian's openssh-server makes (RSA 3072, ECDSA P-256, Ed25519): Proxmox reads the RSA one for its
cluster's known_hosts. RSA is most of the cost (0.13 to 0.18 s of CPU a machine, 0.45 s when three machines start
side by side; the others take microseconds): a pool makes them ahead, off the path of a machine's start, from
before the run's first machine starts, on CPU nothing else wants.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from harness.engine.archive import Entry

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class HostKeys:
    private: dict[str, bytes]  # type (rsa, ecdsa, ed25519) -> the OpenSSH private key file
    public: dict[str, str]  # type -> "ssh-ed25519 AAAA..."

    def files(self) -> list[Entry]:
        """/etc/ssh/ssh_host_<type>_key (0600) and .pub (0644), where sshd and ssh-keyscan find them."""
        entries = []
        for kind, private in self.private.items():
            entries.append(Entry(f"/etc/ssh/ssh_host_{kind}_key", private, 0o600))
            entries.append(Entry(f"/etc/ssh/ssh_host_{kind}_key.pub", f"{self.public[kind]} root@host\n".encode()))
        return entries

    def known_hosts_lines(self, names: list[str]) -> list[str]:
        """One line per key type for these names (addresses, host names), as ssh-keyscan writes them."""
        joined = ",".join(dict.fromkeys(names))
        return [f"{joined} {self.public[kind]}" for kind in self.public]


def generate_host_keys() -> HostKeys:
    keys: dict[str, PrivateKey] = {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=3072),
        "ecdsa": ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }
    private = {
        kind: key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        for kind, key in keys.items()
    }
    public = {
        kind: key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        for kind, key in keys.items()
    }
    return HostKeys(private, public)


IDLE_NICENESS = 19  # the thread making keys ahead yields its CPU to anything else that wants it


def idle_priority() -> None:
    """The calling thread yields its CPU to anything else that wants it (Linux: a thread's niceness is its own)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IDLE_NICENESS)


class HostKeyPool:
    """Host keys made ahead in a background thread, a few at a time: a machine starting takes a set ready (or, when
    none is, has one made on the spot, at full speed). Each set goes to one machine only.

    The thread runs at the lowest priority: the keys it makes are for later, and it must not slow the machines
    booting, the pods running or the harness meanwhile (a run's start is CPU-bound)."""

    def __init__(self, ready: int = 4) -> None:
        self._ready: queue.Queue[HostKeys] = queue.Queue()
        self._wanted = ready
        self._lock = threading.Lock()
        self._filling = False

    def prime(self) -> None:
        """Begin making keys now: before any machine of the run starts (while pytest collects, say)."""
        self._refill()

    def take(self) -> HostKeys:
        try:
            keys = self._ready.get_nowait()
        except queue.Empty:
            keys = generate_host_keys()
        self._refill()
        return keys

    def _refill(self) -> None:
        with self._lock:
            if self._filling:
                return
            self._filling = True
        threading.Thread(target=self._fill, name="host-keys", daemon=True).start()

    @property
    def made(self) -> int:
        """How many sets are made and waiting."""
        return self._ready.qsize()

    def _fill(self) -> None:
        idle_priority()
        try:
            while self._ready.qsize() < self._wanted:
                self._ready.put(generate_host_keys())
        finally:
            with self._lock:
                self._filling = False
