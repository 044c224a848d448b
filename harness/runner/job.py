"""Run a Job's pod template with Docker, with Kubernetes' Job semantics.

- restartPolicy Never: a failed pod is replaced by a new one (init containers
  again, new emptyDirs), up to backoffLimit retries: backoffLimit + 1 pods.
- restartPolicy OnFailure: the failed container restarts in the same pod (init
  containers are not run again, emptyDirs are kept); the Job fails when the
  restart count reaches backoffLimit (at the first failure when it is 0), so
  max(1, backoffLimit) runs in all, as the Job controller counts.
- Retries wait a doubling back-off, compressed: ``backoff_seconds`` instead of 10 s.
- activeDeadlineSeconds bounds the whole Job, back-offs included.
- Only the deployer container of the pod runs (with its init containers):
  sidecars are not run side by side, and the log says so.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets as random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container as DockerContainer
from docker.models.networks import Network
from docker.types import Mount

from harness.engine.archive import Entry, never_started, put_files
from harness.engine.clock import instant
from harness.engine.labels import Ownership
from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.expand import expand
from harness.k8s.manifest import JobSpec
from harness.k8s.pod import Container, PodSpec, SecurityContext, Volume
from harness.k8s.pod_env import Sources, container_env, sub_path_entries, volume_files
from harness.runner.sandbox import PodSandboxes, Sandbox, pod_name, running
from harness.world.trust import trust

MAX_BACKOFF = 60.0
LOG_TAIL_LINES = 80
ENGINE_LOG = "see the engine's log (`journalctl -u docker` or /var/log/dockerd.log)"
# A pod that ends so is not retried: the kubelet would keep it pending (a container it cannot create), or the
# Job's deadline has passed.
FINAL_REASONS = ("Completed", "DeadlineExceeded", "CreateContainerConfigError", "CreateContainerError")


@dataclass
class Attempt:
    number: int
    pod: str
    exit_code: int | None
    reason: str  # Completed, Error, StartError, DeadlineExceeded, CreateContainerError, CreateContainerConfigError
    logs: str
    seconds: float  # the attempt, from its volumes made to its containers removed
    ran: float = 0.0  # what its containers' processes ran (the deployer's own time; the rest is the harness's)


@dataclass
class JobResult:
    job: str
    succeeded: bool
    reason: str  # Complete, BackoffLimitExceeded, DeadlineExceeded
    attempts: list[Attempt] = field(default_factory=list)
    deadline: str = ""  # the deadline that ended it, when one did: its length and where it comes from

    @property
    def logs(self) -> str:
        return self.attempts[-1].logs if self.attempts else ""

    @property
    def ran_seconds(self) -> float:
        """What the pods' processes ran, every attempt: the deployer's own time."""
        return sum(attempt.ran for attempt in self.attempts)

    def summary(self) -> str:
        why = f" ({self.deadline})" if self.reason == "DeadlineExceeded" and self.deadline else ""
        return f"{self.reason}{why} after {len(self.attempts)} attempt(s)"

    def describe(self) -> str:
        why = f": {self.deadline}" if self.reason == "DeadlineExceeded" and self.deadline else ""
        lines = [
            f"Job {self.job}: {'succeeded' if self.succeeded else 'failed'} ({self.reason}{why}), "
            f"{len(self.attempts)} attempt(s)"
        ]
        for attempt in self.attempts:
            code = "-" if attempt.exit_code is None else attempt.exit_code
            lines.append(
                f"--- attempt {attempt.number} (pod {attempt.pod}): {attempt.reason}, exit code {code}, "
                f"{attempt.seconds:.1f} s"
            )
            tail = attempt.logs.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]
            lines += [f"    | {line}" for line in tail] or ["    | (no output)"]
        return "\n".join(lines)


@dataclass(frozen=True)
class JobRun:
    """Everything a Job needs besides its manifest: where it runs and what the cluster would hold."""

    network: Network
    images: dict[str, str]  # container name -> image to run instead of the manifest's
    addresses: AddressMap
    sources: Sources
    backoff_seconds: float = 1.0
    # When the Job sets no activeDeadlineSeconds (Kubernetes would let it run forever): seconds, and their source.
    deadline: tuple[float, str] | None = None
    kept: ReadOnlyVolumes | None = None  # secret and configMap volumes kept across pods (the same files)
    sandboxes: PodSandboxes | None = None  # each pod's network and hostname, made ahead (None: each container's own)
    dns: tuple[str, ...] = ()  # where the network's resolver sends names it does not know (the world's server)
    trusted_ca: bytes | None = None  # a CA the pods trust besides their image's (the world's)


class ReadOnlyVolumes:
    """Secret and configMap volumes by their files: pods mount them read-only, so one filled for an earlier pod
    serves every later pod that would get the same files, and the helper container that fills one is started
    once. Each emptyDir is new. They carry their testbed's labels and go with it."""

    def __init__(self) -> None:
        self.volumes: dict[str, str] = {}  # digest of the files -> volume name
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """No volume is made from now on (one being filled is waited for): the testbed is about to remove them."""
        with self._lock:
            self._closed = True

    def get(self, files: list[Entry], make: Callable[[], str]) -> str:
        digest = hashlib.sha256(repr(sorted((e.path, e.content, e.mode, e.uid, e.gid) for e in files)).encode())
        key = digest.hexdigest()
        with self._lock:
            if key not in self.volumes:
                if self._closed:
                    raise HarnessError("the workload is closed: no more pods")
                self.volumes[key] = make()
            return self.volumes[key]

    def __contains__(self, volume: str) -> bool:
        return volume in self.volumes.values()


def run_job(client: docker.DockerClient, ownership: Ownership, job: JobSpec, run: JobRun) -> JobResult:
    pod = job.pod
    deployer = next(c for c in pod.containers if c.name in run.images)
    init = list(pod.init_steps)
    skipped = [c.name for c in (*pod.init_containers, *pod.containers) if c not in (*init, deployer)]
    # Resolve every container's configuration first: a missing Secret is a spec error, not a failed run.
    configs = {c.name: _container_config(c, pod, run) for c in (*init, deployer)}
    seconds, source = _deadline(job, run)
    deadline = time.monotonic() + seconds if seconds else None
    on_failure = pod.restart_policy == "OnFailure"
    runs = max(1, job.backoff_limit) if on_failure else job.backoff_limit + 1
    result = JobResult(job.name, succeeded=False, reason="", deadline=f"{seconds:g} s, {source}" if seconds else "")
    note = f"(sidecars not run by the harness: {', '.join(skipped)})\n" if skipped else ""
    place = _PodPlace(client, ownership, pod, run, configs[deployer.name].image)
    try:
        for number in range(1, runs + 1):
            # OnFailure restarts in the same pod, unless its sandbox is gone: the kubelet then makes the pod anew.
            new_pod = number == 1 or not on_failure or not place.intact()
            if new_pod:
                place.new(job.name)
            containers = [*init, deployer] if new_pod else [deployer]
            attempt = _run_pod(client, ownership, containers, place, number, configs, run, deadline)
            attempt.logs = note + attempt.logs
            result.attempts.append(attempt)
            if attempt.reason in FINAL_REASONS:
                result.succeeded = attempt.reason == "Completed"
                result.reason = "Complete" if result.succeeded else attempt.reason  # no retry helps these
                return result
            if number < runs:
                pause = min(run.backoff_seconds * 2 ** (number - 1), MAX_BACKOFF)
                if deadline is not None and time.monotonic() + pause >= deadline:
                    time.sleep(max(0.0, deadline - time.monotonic()))
                    result.reason = "DeadlineExceeded"
                    return result
                time.sleep(pause)
        result.reason = "BackoffLimitExceeded"
        return result
    finally:
        place.end()


def _deadline(job: JobSpec, run: JobRun) -> tuple[float | None, str]:
    """The Job's own activeDeadlineSeconds, else the harness's: Kubernetes would wait forever, a test run must not."""
    if job.active_deadline_seconds:
        return job.active_deadline_seconds, "the Job's activeDeadlineSeconds"
    if run.deadline is None:
        return None, ""
    seconds, source = run.deadline
    return seconds, f"{source}, as the Job sets no activeDeadlineSeconds"


class _PodPlace:
    """Where the current pod runs: its name, its volumes and its sandbox (the network and hostname its containers
    share). A new pod gets new ones; those of the pod before go. Without sandboxes each container is put on the
    network by itself, with the pod's name as its hostname."""

    def __init__(
        self, client: docker.DockerClient, ownership: Ownership, pod: PodSpec, run: JobRun, image: str
    ) -> None:
        self.client, self.ownership, self.pod, self.run, self.image = client, ownership, pod, run, image
        self.name = self.job = ""
        self.volumes: dict[str, str] = {}
        self.sandbox: Sandbox | None = None

    def new(self, job: str) -> None:
        self.end()
        self.job = job
        self.sandbox = self.run.sandboxes.take(job) if self.run.sandboxes is not None else None
        self.name = self.sandbox.pod if self.sandbox is not None else pod_name(job)
        self.volumes = _create_pod_volumes(self.client, self.ownership, self.pod, self.name, self.run, self.image)

    def intact(self) -> bool:
        return self.sandbox is None or running(self.sandbox)

    def started(self) -> None:
        """A container of the pod started: the sandbox of the Job's next pod is begun now, not in its way."""
        if self.run.sandboxes is not None:
            self.run.sandboxes.prepare(self.job)

    @property
    def network(self) -> dict[str, str]:
        """How the pod's containers join the test network."""
        if self.sandbox is not None:
            return {"network_mode": self.sandbox.network_mode}
        return {
            "network": self.run.network.name,
            "hostname": self.name,
            **({"dns": list(self.run.dns)} if self.run.dns else {}),
        }

    def end(self) -> None:
        _remove_volumes(self.client, self.volumes, self.run.kept)
        if self.sandbox is not None and self.run.sandboxes is not None:
            self.run.sandboxes.release(self.sandbox)
        self.sandbox = None


@dataclass(frozen=True)
class _Config:
    container: Container
    image: str
    env: dict[str, str]
    entrypoint: list[str] | None
    command: list[str] | None
    files: list[Entry]
    writable_volumes: frozenset[str]  # emptyDirs; secret and configMap volumes are read-only
    group_add: list[str] | None  # fsGroup is a supplementary group of every container


def _container_config(container: Container, pod: PodSpec, run: JobRun) -> _Config:
    env = container_env(container, run.sources, run.addresses)

    def resolve(words: tuple[str, ...] | None) -> list[str] | None:
        return None if words is None else [run.addresses.apply(expand(w, env)) for w in words]

    command, args = resolve(container.command), resolve(container.args)
    for volume in pod.volumes:
        if volume.kind not in ("secret", "configMap", "emptyDir"):
            raise HarnessError(
                f"volume {volume.name!r} is a {volume.kind} volume, which a Job run by the harness cannot mount",
                where=run.sources.spec_path,
                fix="use secret, configMap or emptyDir volumes in the Job",
            )
    for mount in container.volume_mounts:
        if mount.sub_path and pod.volume(mount.name).kind == "emptyDir":
            raise HarnessError(
                f"container {container.name!r} mounts emptyDir {mount.name!r} with subPath, which the harness "
                "cannot do",
                where=run.sources.spec_path,
                fix="mount the emptyDir without subPath",
            )
    return _Config(
        container=container,
        image=run.images.get(container.name, container.image),
        env=env,
        # Kubernetes: command replaces ENTRYPOINT and drops CMD; args alone replace CMD.
        entrypoint=command,
        command=args if args is not None else ([] if command is not None else None),
        files=sub_path_entries(pod, container, run.sources, run.addresses),
        writable_volumes=frozenset(v.name for v in pod.volumes if v.kind == "emptyDir"),
        group_add=[str(pod.fs_group)] if pod.fs_group is not None else None,
    )


def _run_pod(
    client: docker.DockerClient,
    ownership: Ownership,
    containers: list[Container],
    place: _PodPlace,
    number: int,
    configs: dict[str, _Config],
    run: JobRun,
    deadline: float | None,
) -> Attempt:
    started = time.monotonic()
    logs: list[str] = []
    ran = 0.0
    for container in containers:
        config = configs[container.name]
        exit_code, reason, output, seconds = _run_container(client, ownership, place, config, run, deadline)
        ran += seconds
        logs.append(output if len(configs) == 1 else f"[{container.name}]\n{output}")
        if reason != "Completed":
            return Attempt(number, place.name, exit_code, reason, "".join(logs), time.monotonic() - started, ran)
    return Attempt(number, place.name, 0, "Completed", "".join(logs), time.monotonic() - started, ran)


Outcome = tuple[int | None, str, str, float]  # exit code, reason, output, how long its process ran


def _run_container(
    client: docker.DockerClient,
    ownership: Ownership,
    place: _PodPlace,
    config: _Config,
    run: JobRun,
    deadline: float | None,
) -> Outcome:
    """Exit code, reason, output, and how long its process ran."""
    refusal = _refuses_to_run(client, config.image, config.container.security)
    if refusal:  # the kubelet's CreateContainerConfigError: the container never starts
        return None, "CreateContainerConfigError", f"Error: {refusal}\n", 0.0
    container = _create(client, ownership, place, config, run)
    if not isinstance(container, DockerContainer):
        return container
    try:
        if config.files:
            put_files(container, config.files)
        if run.trusted_ca is not None and not config.container.security.read_only_root_filesystem:
            trust(container, run.trusted_ca)  # a read-only root filesystem takes no file: its image's CAs only
        try:
            container.start()
        except docker.errors.APIError as exc:
            if not place.intact():  # its sandbox died: no pod could run there
                raise HarnessError(
                    f"pod {place.name}: the engine could not start container {config.container.name!r}: {exc}",
                    fix=ENGINE_LOG,
                ) from None
            # The runtime could not exec the entrypoint (not executable, not found): Kubernetes' StartError, a
            # failed container with exit code 128, which the Job counts and retries as any failure.
            return 128, "StartError", f"Error: {exc.explanation or exc}\n", 0.0
        place.started()
        timeout = None if deadline is None else max(0.1, deadline - time.monotonic())
        try:
            status = container.wait(timeout=timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            container.kill()
            return None, "DeadlineExceeded", _logs(container), _ran(container)
        code = int(status["StatusCode"])
        return code, "Completed" if code == 0 else "Error", _logs(container), _ran(container)
    finally:
        container.remove(force=True)


def _create(
    client: docker.DockerClient, ownership: Ownership, place: _PodPlace, config: _Config, run: JobRun
) -> DockerContainer | Outcome:
    """The pod's container, made; or the kubelet's CreateContainerError where the engine refuses what it asks."""
    security = config.container.security
    user = None
    if security.run_as_user is not None:
        user = str(security.run_as_user) + (f":{security.run_as_group}" if security.run_as_group is not None else "")
    try:
        container: DockerContainer = client.containers.create(
            config.image,
            command=config.command,
            entrypoint=config.entrypoint,
            environment=config.env,
            working_dir=config.container.working_dir,
            name=ownership.name(place.name, config.container.name, random.token_hex(2)),
            mounts=_mounts(config, place.volumes),
            user=user,
            group_add=config.group_add,
            read_only=bool(security.read_only_root_filesystem),
            labels=ownership.labels("pod"),
            detach=True,
            **place.network,
        )
    except docker.errors.ImageNotFound:
        raise HarnessError(
            f"container {config.container.name!r} uses image {config.image!r}, which is not available locally",
            where=run.sources.spec_path,
            fix="build or load that image first (there is no registry to pull from)",
        ) from None
    except docker.errors.APIError as exc:
        if exc.status_code == 400 and place.intact():  # what the pod asks, refused (a relative workingDir, say)
            return None, "CreateContainerError", f"Error: {exc.explanation or exc}\n", 0.0
        raise HarnessError(
            f"pod {place.name}: the engine could not create container {config.container.name!r}: {exc}",
            fix=ENGINE_LOG,
        ) from None
    return container


def _mounts(config: _Config, volumes: dict[str, str]) -> list[Mount]:
    """Secret and configMap volumes are read-only, as the kubelet mounts them; an emptyDir starts empty
    (no_copy: nothing of the image's content at that path is copied in)."""
    return [
        Mount(
            m.mount_path,
            volumes[m.name],
            type="volume",
            no_copy=True,
            read_only=m.read_only or m.name not in config.writable_volumes,
        )
        for m in config.container.volume_mounts
        if m.name in volumes and not m.sub_path
    ]


def _refuses_to_run(client: docker.DockerClient, image: str, security: SecurityContext) -> str | None:
    """The kubelet's runAsNonRoot check, with its messages."""
    if not security.run_as_non_root:
        return None
    if security.run_as_user is not None:
        return "container's runAsUser breaks non-root policy" if security.run_as_user == 0 else None
    user = (client.images.get(image).attrs.get("Config") or {}).get("User") or "0"
    name = user.split(":")[0]
    if not name.isdigit():
        return f"container has runAsNonRoot and image has non-numeric user ({name}), cannot verify user is non-root"
    return "container has runAsNonRoot and image will run as root" if int(name) == 0 else None


def _ran(container: DockerContainer) -> float:
    """From the engine's start to its finish of the container's process (0 when it cannot tell)."""
    container.reload()
    state = container.attrs.get("State") or {}
    try:
        started, finished = (instant(state[key]) for key in ("StartedAt", "FinishedAt"))
    except (KeyError, ValueError):
        return 0.0
    return max(0.0, (finished - started).total_seconds())


def _logs(container: DockerContainer) -> str:
    raw: bytes = container.logs(stdout=True, stderr=True)
    return raw.decode(errors="replace")


def _create_pod_volumes(
    client: docker.DockerClient, ownership: Ownership, pod: PodSpec, name: str, run: JobRun, image: str
) -> dict[str, str]:
    """A labelled Docker volume per emptyDir, secret and configMap volume of the pod (the last two kept across
    pods when ``run.kept`` is given)."""
    created = {}
    for volume in pod.volumes:
        volume_name = ownership.name(name, volume.name)
        if volume.kind in ("secret", "configMap"):
            created[volume.name] = _read_only_volume(client, ownership, volume_name, image, volume, pod, run)
        else:
            created[volume.name] = _new_volume(client, ownership, volume_name, image, None)
    return created


def prepare_volumes(client: docker.DockerClient, ownership: Ownership, job: JobSpec, run: JobRun, image: str) -> None:
    """Fill the secret and configMap volumes of the Job's pod into ``run.kept`` now (while the machines are
    scanned, before the first pod): that pod finds them ready, or waits for the one being filled."""
    if run.kept is None:  # kept for no pod: nothing to make ahead
        return
    for volume in job.pod.volumes:
        if volume.kind in ("secret", "configMap"):
            name = ownership.name(pod_name(job.name), volume.name)
            _read_only_volume(client, ownership, name, image, volume, job.pod, run)


def _read_only_volume(
    client: docker.DockerClient, ownership: Ownership, name: str, image: str, volume: Volume, pod: PodSpec, run: JobRun
) -> str:
    """A secret or configMap volume filled as the kubelet would fill it: the one kept with the same files, or new."""
    files = volume_files(volume, run.sources, run.addresses)
    if pod.fs_group is not None:  # the kubelet: group ownership, plus group read on read-only volumes
        files = [replace(e, gid=pod.fs_group, mode=e.mode | 0o440) for e in files]
    make = functools.partial(_new_volume, client, ownership, name, image, files)
    return run.kept.get(files, make) if run.kept is not None else make()


def _new_volume(
    client: docker.DockerClient, ownership: Ownership, name: str, image: str, files: list[Entry] | None
) -> str:
    """A labelled volume; with ``files``, filled with them."""
    made: str = client.volumes.create(name, labels=ownership.labels("volume")).name
    if files is not None:
        _fill_volume(client, ownership, made, files, image)
    return made


def _fill_volume(
    client: docker.DockerClient, ownership: Ownership, volume: str, files: list[Entry], image: str
) -> None:
    # The pod mounts it read-only, so the files go in through a container that is never started.
    mounts = [Mount("/volume", volume, type="volume", no_copy=True)]
    with never_started(client, ownership, image, "volume-filler", mounts) as helper:
        put_files(helper, [Entry("/volume", None, 0o755), *(replace(e, path=f"/volume/{e.path}") for e in files)])


def _remove_volumes(client: docker.DockerClient, volumes: dict[str, str], kept: ReadOnlyVolumes | None) -> None:
    for name in volumes.values():
        if kept is not None and name in kept:
            continue
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(name).remove(force=True)
    volumes.clear()
