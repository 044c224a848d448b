"""The simulated cluster: nodes are machine containers, pods run inside them, a controller rolls DaemonSets out.

Pods are transient systemd units on their node (``harness-pod run``): the node's
own systemd supervises them, as the kubelet does; their output is the unit's
journal (``kubectl logs``).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker

from harness.cluster.pod_files import RUNNER, ImageConfig, PodPlan, plan_pod
from harness.cluster.rollout import Rollout
from harness.engine.archive import put_files
from harness.errors import HarnessError
from harness.hosts.machine import Machine
from harness.k8s.addresses import AddressMap
from harness.k8s.manifest import DaemonSetSpec
from harness.k8s.pod_env import Sources
from harness.k8s.scheduling import Node, schedule

# Pods reach the other nodes by name, and a DaemonSet names no production host: nothing to map.
NO_ADDRESSES = AddressMap({})
STOP_GRACE_SECONDS = 2.0  # terminationGracePeriodSeconds, compressed: a pod that ignores SIGTERM is killed after it


@dataclass
class Pod:
    name: str
    node: str
    revision: str  # the template hash, as the controller-revision-hash label
    directory: str
    image: str

    @property
    def unit(self) -> str:
        return f"pod-{self.name}.service"


@dataclass
class PodState:
    pod: str
    node: str
    phase: str  # Running, Waiting (CrashLoopBackOff), Pending
    restarts: int
    ready: bool


@dataclass
class SimNode:
    spec: Node
    machine: Machine

    def run(self, command: str) -> tuple[int, str]:
        return self.machine.exec(command)


class SimCluster:
    def __init__(
        self,
        client: docker.DockerClient,
        nodes: list[SimNode],
        unpack: Callable[[str], str],
        *,
        backoff: tuple[int, int, int] = (1, 8, 60),
    ) -> None:
        self.client = client
        self.nodes = {n.spec.name: n for n in nodes}
        self.unpack = unpack
        self.sources = Sources({}, {}, "")  # as the last apply gave them
        self.backoff = backoff
        self.pods: dict[str, Pod] = {}  # node -> its daemon pod
        self.generation = 0

    # ------------------------------------------------------------------ rollout

    def apply(self, ds: DaemonSetSpec, image: str, sources: Sources, *, timeout: float = 120.0) -> Rollout:
        """Create or update the DaemonSet; an unchanged template restarts its pods (``kubectl rollout restart``).
        ``sources``: the Secrets and ConfigMaps as they are now (a previous version brings its own)."""
        self.sources = sources
        unpacked = _Image(image, self.unpack(image), _image_config(self.client, image))  # before the clock starts
        started = time.monotonic()
        self.generation += 1
        rollout = Rollout(ds.name)
        revision = _revision(ds, self.client.images.get(image).id, self.generation)
        rollout.decisions = schedule(ds.pod.placement, [n.spec for n in self.nodes.values()])
        wanted = [d.node for d in rollout.decisions if d.runs]
        for decision in rollout.decisions:  # nodes that no longer match lose their pod
            if not decision.runs and decision.node in self.pods:
                self._delete(self.pods.pop(decision.node))
        if not wanted:
            rollout.mark_nowhere()
            return rollout
        fresh = [node for node in wanted if node not in self.pods]
        self._start_all(ds, unpacked, revision, fresh)
        old = [node for node in wanted if self.pods[node].revision != revision]
        if ds.strategy == "OnDelete":
            rollout.lines.append(f"updateStrategy OnDelete: {len(old)} pod(s) keep the old template until deleted")
            old = []
        budget = ds.unavailable_budget(len(wanted))
        deadline = started + timeout
        try:
            for batch in (old[i : i + budget] for i in range(0, len(old), budget)):
                updated = len(wanted) - len([n for n in old if self.pods[n].revision != revision])
                rollout.lines.append(
                    f'Waiting for daemon set "{ds.name}" rollout to finish: {updated} out of {len(wanted)} '
                    "new pods have been updated..."
                )
                rollout.batches.append(batch)
                for node in batch:
                    self._delete(self.pods.pop(node))
                self._start_all(ds, unpacked, revision, batch)
                self._wait_ready(ds, batch, deadline, rollout)
            self._wait_ready(ds, wanted, deadline, rollout)
            rollout.succeeded = True
            rollout.lines.append(f'daemon set "{ds.name}" successfully rolled out')
        except TimeoutError as exc:
            rollout.lines.append(str(exc))
            rollout.pod_logs = {self.pods[n].name: self.logs(n) for n in wanted if n in self.pods}
        rollout.seconds = time.monotonic() - started
        return rollout

    def _start_all(self, ds: DaemonSetSpec, image: _Image, revision: str, nodes: list[str]) -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
            futures = [pool.submit(self._start, ds, image, revision, n) for n in nodes]
        errors = []
        for future in futures:  # every pod that started is tracked, also when another one failed
            try:
                pod = future.result()
                self.pods[pod.node] = pod
            except HarnessError as exc:
                errors.append(str(exc))
        if errors:
            raise HarnessError("\n".join(errors))

    def _start(self, ds: DaemonSetSpec, image: _Image, revision: str, node_name: str) -> Pod:
        node = self.nodes[node_name]
        name = f"{ds.name}-{uuid.uuid4().hex[:5]}"
        fields = {
            "metadata.name": name,
            "metadata.namespace": ds.namespace,
            "spec.nodeName": node_name,
            "spec.serviceAccountName": "default",
            "status.hostIP": node.machine.address,
            "status.podIP": node.machine.address if ds.pod.host_network else "",
        }
        sources = Sources(self.sources.secrets, self.sources.config_maps, self.sources.spec_path, fields)
        plan: PodPlan = plan_pod(ds.pod, name, node_name, image.path, image.config, sources, NO_ADDRESSES, self.backoff)
        put_files(node.machine.container, plan.files)
        pod = Pod(name, node_name, revision, plan.directory, image.name)
        # A PID 1 without a SIGTERM handler (`sleep infinity`) ignores it, as in any container: the kubelet
        # waits terminationGracePeriodSeconds (30 s) before SIGKILL; here that wait is compressed.
        grace = min(max(ds.pod.termination_grace, 0.1), STOP_GRACE_SECONDS)  # 0 would mean "no timeout" to systemd
        code, output = node.run(
            f"systemd-run --quiet --unit={pod.unit} --property=ExecStopPost='{RUNNER} cleanup {pod.directory}' "
            f"--property=TimeoutStopSec={grace:g}s {RUNNER} run {pod.directory}"
        )
        if code != 0:
            raise HarnessError(f"{node_name}: could not start pod {name}: {output.strip()}")
        return pod

    def _delete(self, pod: Pod) -> None:
        self.nodes[pod.node].run(f"systemctl stop {pod.unit}; rm -rf {shlex.quote(pod.directory)}")

    def _wait_ready(self, ds: DaemonSetSpec, nodes: list[str], deadline: float, rollout: Rollout) -> None:
        container = ds.pod.containers[0]
        probe, probe_timeout = container.readiness_exec, container.readiness_timeout
        pending = set(nodes)
        ready_since: dict[str, float] = {}
        while pending:
            with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:  # one probe per node, in parallel
                states = list(pool.map(lambda n: self.pod_state(n, probe, probe_timeout), sorted(pending)))
            for node, state in zip(sorted(pending), states, strict=True):
                if state.ready:
                    ready_since.setdefault(node, time.monotonic())
                    if time.monotonic() - ready_since[node] >= ds.min_ready_seconds:
                        pending.discard(node)
                else:
                    ready_since.pop(node, None)
            if pending and time.monotonic() > deadline:
                states = [self.pod_state(n, probe) for n in sorted(pending)]
                detail = "; ".join(f"{s.pod} on {s.node}: {s.phase}, {s.restarts} restart(s)" for s in states)
                raise TimeoutError(f'daemon set "{ds.name}": pods not ready in time: {detail}')
            if pending:
                time.sleep(0.2)

    # ------------------------------------------------------------------ status

    def pod_state(self, node: str, probe: tuple[str, ...] | None = None, probe_timeout: float = 1.0) -> PodState:
        pod = self.pods.get(node)
        if pod is None:
            return PodState("", node, "Absent", 0, False)
        _, output = self.nodes[node].run(f"cat {pod.directory}/status {pod.directory}/restarts 2>/dev/null")
        lines = output.split("\n")
        status, restarts = (lines[0].split() or ["Pending"]), int(lines[1]) if len(lines) > 1 and lines[1] else 0
        if status[0] != "running":
            phase = "CrashLoopBackOff" if status[0] == "waiting" else "Pending"
            return PodState(pod.name, node, phase, restarts, False)
        ready = True
        if probe:
            code, _ = self.exec(node, probe, probe_timeout)
            ready = code == 0
        return PodState(pod.name, node, "Running", restarts, ready)

    def exec(self, node: str, command: tuple[str, ...], timeout: float = 60.0) -> tuple[int, str]:
        """``kubectl exec`` into the pod on this node: the command in the container's namespaces and root."""
        pod = self.pods.get(node)
        if pod is None:
            return 1, f"no pod of the DaemonSet runs on {node}"
        words = " ".join(shlex.quote(a) for a in command)
        return self.nodes[node].run(f"timeout {timeout:g} {RUNNER} exec {pod.directory} {words} 2>&1")

    def processes(self, node: str) -> list[tuple[int, int, str]]:
        """The processes running in the pod on this node (its unit's cgroup, v1 or v2): pid, parent pid, name."""
        pod = self.pods.get(node)
        if pod is None:
            return []
        script = (
            f"cg=$(systemctl show -p ControlGroup --value {pod.unit}); "
            'for f in /sys/fs/cgroup/systemd"$cg"/cgroup.procs /sys/fs/cgroup"$cg"/cgroup.procs; do '
            '[ -r "$f" ] && while read -r p; do echo "$p $(cut -d" " -f4 /proc/$p/stat 2>/dev/null)'
            ' $(cat /proc/$p/comm 2>/dev/null)"; done < "$f" && break; done'
        )
        _, output = self.nodes[node].run(script)
        found = []
        for line in output.splitlines():
            pid, ppid, name = [*line.split(maxsplit=2), "", ""][:3]
            if pid.isdigit() and ppid.isdigit():
                found.append((int(pid), int(ppid), name))
        return found

    def logs(self, node: str) -> str:
        pod = self.pods.get(node)
        if pod is None:
            return ""
        _, output = self.nodes[node].run(f"journalctl --no-pager -o cat _SYSTEMD_UNIT={pod.unit}")
        return output


@dataclass(frozen=True)
class _Image:
    name: str
    path: str  # its files, inside a node
    config: ImageConfig


def _image_config(client: docker.DockerClient, image: str) -> ImageConfig:
    config = client.images.get(image).attrs.get("Config") or {}
    return ImageConfig(
        tuple(config.get("Env") or ()),
        tuple(config.get("Entrypoint") or ()),
        tuple(config.get("Cmd") or ()),
        config.get("WorkingDir") or "",
        config.get("User") or "",
    )


def _revision(ds: DaemonSetSpec, image_id: str, generation: int) -> str:
    """The template's hash. Every apply is a new generation: unchanged templates restart, as `rollout restart` does."""
    data = json.dumps({"pod": ds.pod.raw, "image": image_id, "generation": generation}, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:10]
