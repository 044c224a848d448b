"""Pod sandboxes: a container per pod that holds the pod's network and hostname, as the kubelet's pause container
holds a pod's namespaces, started before the pod is.

The pod's containers join it (``network_mode=container:...``): its address, its name (the pod's name, as its
hostname) and its /etc/hosts and /etc/resolv.conf. Every pod gets a sandbox of its own, never shared with
another pod, so a deployer that writes its pod's name or keeps a lock by it meets a new one on every run, as in
Kubernetes. The engine spends most of a container's start (0.3 s of 0.4 s on this machine) making its network
endpoint; that is done for the next pod of a Job while the current one runs (once its first container started:
not in the way of that start), so a pod starts in about 0.1 s. A pod whose container never started leaves the next
to make its own.
"""

from __future__ import annotations

import contextlib
import secrets as random
import threading
from dataclasses import dataclass

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from harness.engine.labels import KEEP, Ownership
from harness.errors import HarnessError
from harness.threads import DaemonCall

GENERATED_BASE = 58  # Kubernetes cuts a generateName prefix to 63 - 5 characters: a pod's name fits a DNS label


def pod_name(job: str) -> str:
    """A name as the Job controller gives its pods: the Job's name and a dash, cut to 58 characters, and five
    random ones. A 63-character Job's pods are not 69 characters long (no hostname can be: the kernel refuses it)."""
    return f"{job}-"[:GENERATED_BASE] + random.token_hex(3)[:5]


@dataclass(frozen=True)
class Sandbox:
    pod: str  # the pod's name: its hostname
    container: Container

    @property
    def network_mode(self) -> str:
        return f"container:{self.container.id}"


class PodSandboxes:
    """Sandboxes for the pods of a workload's Jobs on one network: one ready ahead per Job name. Scratch: never
    kept, removed when a pod ends and at :meth:`close` (and by the testbed's labels, or the sweep of a dead run)."""

    def __init__(
        self, client: docker.DockerClient, ownership: Ownership, network: Network, image: str, dns: tuple[str, ...] = ()
    ) -> None:
        self.client, self.network, self.image, self.dns = client, network, image, dns
        self.ownership = ownership
        self._ahead: dict[str, DaemonCall[Sandbox]] = {}  # Job name -> the next pod's sandbox, starting
        self._releasing: list[DaemonCall[None]] = []
        self._lock = threading.Lock()
        self._closed = False

    def prepare(self, job: str) -> None:
        """Begin the sandbox of this Job's next pod now (its first while the machines are scanned, say; the next
        once a pod's container started), unless one is already made or being made."""
        with self._lock:
            if not self._closed and job not in self._ahead:
                self._ahead[job] = DaemonCall(lambda: self._start(job), "pod-sandbox")

    def take(self, job: str) -> Sandbox:
        """A started sandbox for a new pod of this Job (the one made ahead, if it started). The next one is begun by
        :meth:`prepare`, once this pod's container started."""
        with self._lock:
            if self._closed:
                raise HarnessError("the workload is closed: no more pods")
            ahead = self._ahead.pop(job, None)
        sandbox = None
        try:
            if ahead is not None:
                with contextlib.suppress(HarnessError, docker.errors.APIError, OSError):
                    sandbox = ahead.result()
            if sandbox is not None and not running(sandbox):
                _remove(sandbox)
                sandbox = None
            if sandbox is None:
                sandbox = self._start(job)
            with self._lock:
                if self._closed:  # closed while this one was waited for: it would outlive the workload
                    raise HarnessError("the workload is closed: no more pods")
            return sandbox
        except BaseException:  # Ctrl-C included: the sandbox taken goes, not the sweep's to find
            if sandbox is not None:
                _remove(sandbox)
            raise

    def release(self, sandbox: Sandbox) -> None:
        """The pod ended: its sandbox goes, in the background (SIGKILL: it holds nothing to stop cleanly; its
        network endpoint takes the engine 0.1 s to undo, which the next pod need not wait for). Once the
        workload is closed, at once: nobody would wait for it."""
        with self._lock:
            if not self._closed:
                self._releasing = [call for call in self._releasing if call.running]
                self._releasing.append(DaemonCall(lambda: _remove(sandbox), "pod-sandbox-removal"))
                return
        _remove(sandbox)

    def _start(self, job: str) -> Sandbox:
        pod = pod_name(job)
        labels = {**self.ownership.labels("pod-sandbox"), KEEP: "false"}  # scratch, even in a --keep run
        try:
            container: Container = self.client.containers.create(
                self.image,
                ["sleep", "infinity"],
                entrypoint=[],
                name=self.ownership.name(pod, "sandbox"),
                hostname=pod,
                network=self.network.name,
                dns=list(self.dns) or None,  # the pod's resolver (its containers share it) forwards there
                labels=labels,
                detach=True,
            )
        except docker.errors.APIError as exc:
            raise HarnessError(f"the engine refused the sandbox of a pod of Job {job!r}: {exc}") from None
        sandbox = Sandbox(pod, container)
        try:
            container.start()
        except docker.errors.APIError as exc:
            _remove(sandbox)
            raise HarnessError(f"the sandbox of a pod of Job {job!r} did not start: {exc}") from None
        with self._lock:
            closed = self._closed
        if closed:  # made ahead while the workload closed
            _remove(sandbox)
            raise HarnessError("the workload is closed: no more pods")
        return sandbox

    def close(self) -> None:
        """The sandboxes made ahead, and those being removed: waited for (one still starting is removed, not
        left behind, and the testbed's network is left with nothing on it)."""
        with self._lock:
            self._closed = True
            ahead, self._ahead = list(self._ahead.values()), {}
            releasing, self._releasing = self._releasing, []
        for call in ahead:
            with contextlib.suppress(HarnessError, docker.errors.APIError, OSError):  # OSError: requests' own
                _remove(call.result())
        for removal in releasing:
            with contextlib.suppress(docker.errors.APIError, OSError):
                removal.result()


def running(sandbox: Sandbox) -> bool:
    """Whether its process still holds the pod's network (a pod cannot join a stopped one)."""
    try:
        sandbox.container.reload()
    except (docker.errors.APIError, OSError):
        return False
    return bool(sandbox.container.status == "running")


def _remove(sandbox: Sandbox) -> None:
    with contextlib.suppress(docker.errors.APIError, OSError):
        sandbox.container.remove(force=True)
