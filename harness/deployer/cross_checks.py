"""The spec checked against the manifest before anything starts. A mismatch would otherwise run the deployer
against nobody until its deadline: an address the manifest never names is never mapped to a machine, and an SSH
key in a Secret the pod never mounts never reaches the deployer."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.deployer.containers import run_containers
from harness.deployer.sources import sources
from harness.deployer.spec import DeployerSpec, SecretKeySpec, load_spec
from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.manifest import Manifest, load_manifest
from harness.k8s.pod import Container, PodSpec
from harness.k8s.pod_env import Sources, container_env, volume_files

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w])")
NO_ADDRESSES = AddressMap({})
_SHOWN = 4  # addresses named in an error: enough to see the mismatch


def load_deployer(
    folder: Path, machine_kinds: list[str], default_deadline: tuple[float, str] | None = None
) -> DeployerSpec:
    """The spec, its manifests read (a bad one is named once, before any scenario) and checked against it."""
    spec = load_spec(folder, machine_kinds, default_deadline)
    cross_check(spec, load_manifest(spec.manifest))
    if spec.drift.manifest is not None:
        load_manifest(spec.drift.manifest)
    return spec


def cross_check(spec: DeployerSpec, manifest: Manifest) -> None:
    """Raise a :class:`HarnessError` naming the spec's field, what the manifest does instead, and the fix."""
    workload = manifest.job or manifest.daemonset
    if workload is not None:
        _check_encrypted(spec, manifest, workload.pod)
    if manifest.daemonset is not None:
        if spec.workload == "job":
            raise HarnessError(
                "`machines` is given, but the manifest runs a DaemonSet, which runs on a cluster's nodes",
                where=spec.path,
                fix="declare the nodes in `cluster.nodes` instead of `machines`",
            )
        return
    if manifest.job is None:
        kind = "DaemonSet" if spec.workload == "daemonset" else "Job"
        raise HarnessError(
            f"the manifest holds no Job and no DaemonSet: nothing would run ({manifest.path.name})",
            where=spec.path,
            fix=f"point `manifest` at the file with the deployer's {kind}",
        )
    if spec.workload == "daemonset":
        raise HarnessError(
            "`cluster` is given, but the manifest runs a Job, whose deployer reaches its hosts over SSH",
            where=spec.path,
            fix="declare the hosts in `machines` instead of `cluster`",
        )
    # First: a key in the wrong Secret also leaves a Secret without values, a less telling error.
    _check_taken(spec, manifest.job.pod, "ssh_key", spec.ssh_key)
    _check_taken(spec, manifest.job.pod, "known_hosts", spec.known_hosts)
    containers = run_containers(spec, manifest.job)  # as a pod runs: sidecars are not run, nor checked
    given = sources(spec, manifest, "", manifest.namespace, "")  # the keys the run fills: there, and empty
    _check_values(given, manifest.job.pod, containers)
    _check_addresses(spec, list(_pod_texts(given, manifest.job.pod, containers)))


def _check_encrypted(spec: DeployerSpec, manifest: Manifest, pod: PodSpec) -> None:
    """A SOPS-encrypted Secret the pod takes is replaced by the spec's test values: every key of it needs one."""
    taken = _secrets_taken(pod)
    filled = {(entry.secret, entry.key) for entry in (spec.ssh_key, spec.known_hosts) if entry is not None}
    for name, encrypted in manifest.encrypted.items():
        if name not in taken:
            continue
        wanted = taken[name]  # None: the pod takes the whole Secret
        keys = [k for k in encrypted if (wanted is None or k in wanted) and (name, k) not in filled]
        given = spec.secrets.get(name, {})
        missing = [key for key in keys if key not in given]
        if missing:
            values = ", ".join(f"{key}: <test value>" for key in keys)
            raise HarnessError(
                f"the Secret {name} in {manifest.path.name} is SOPS-encrypted, and the spec gives no test value for "
                f"{', '.join(missing)}: the harness never decrypts, and hands the pod the spec's test values instead",
                where=spec.path,
                fix=f"add them to harness.yaml: `secrets: {{{name}: {{{values}}}}}`",
            )


def _check_values(given: Sources, pod: PodSpec, containers: list[Container]) -> None:
    """Every Secret and ConfigMap key the pod takes has a value (the manifest's, or the spec's test value), as
    the pod's start would find (a missing one would stop every scenario there instead)."""
    for container in containers:
        container_env(container, given, NO_ADDRESSES)
    for volume in pod.volumes:
        if volume.kind in ("secret", "configMap"):
            volume_files(volume, given, NO_ADDRESSES)


def _pod_texts(given: Sources, pod: PodSpec, containers: list[Container]) -> Iterator[tuple[str, str]]:
    """(where, text) for everything the harness maps addresses in: each container's command, args and env, and
    the Secrets and ConfigMaps the pod takes (the spec's test values and the manifest's own)."""

    def source(kind: str, name: str) -> dict[str, str]:
        return (given.secrets if kind == "secret" else given.config_maps).get(name, {})

    for container in containers:
        at = f"container {container.name}"
        for index, word in enumerate((*(container.command or ()), *(container.args or ()))):
            yield f"{at}, command word {index + 1}", word
        for var in container.env:
            if var.ref is None:
                yield f"{at}, env {var.name}", var.value or ""
            elif var.ref.kind != "field":
                value = source(var.ref.kind, var.ref.name).get(var.ref.key, "")
                yield f"{at}, env {var.name} ({var.ref.kind} {var.ref.name})", value
        for env_from in container.env_from:
            for key, value in source(env_from.kind, env_from.name).items():
                yield f"{at}, env {env_from.prefix}{key} ({env_from.kind} {env_from.name})", value
    for volume in pod.volumes:
        if volume.kind in ("secret", "configMap"):
            for key, value in source(volume.kind, volume.source).items():
                yield f"volume {volume.name}, {volume.kind} {volume.source} key {key}", value


def _check_addresses(spec: DeployerSpec, texts: list[tuple[str, str]]) -> None:
    for machine in spec.machines:
        if machine.address is None:
            continue
        names = (machine.address, *machine.aliases, machine.hostname, machine.name)  # each resolves to it
        if any(_names(text, name) for _, text in texts for name in names):
            continue
        found = [(where, address) for where, text in texts for address in _IPV4.findall(text)]
        if not found:  # a name built into the image may still resolve to it: only another address is a mismatch
            continue
        points = "; ".join(f"{address} ({where})" for where, address in found[:_SHOWN])
        more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
        raise HarnessError(
            f"`machines.{machine.name}.address` is {machine.address}, which the manifest never names (nor the "
            f"machine's names): the deployer would talk to nobody; the manifest's pod names {points}{more}",
            where=spec.path,
            fix="give the address the manifest's env, args or a mounted ConfigMap or Secret holds, or name it in "
            f"`machines.{machine.name}.aliases` when the manifest uses a host name",
        )


def _names(text: str, name: str) -> bool:
    """Whether ``text`` names the address or host name whole (192.0.2.1 is not named by 192.0.2.10)."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", text) is not None


def _check_taken(spec: DeployerSpec, pod: PodSpec, field: str, wanted: SecretKeySpec | None) -> None:
    """The Secret key the harness fills (``ssh_key``, ``known_hosts``) is one the pod takes."""
    if wanted is None:
        return
    taken = _secrets_taken(pod)
    if wanted.secret in taken:
        keys = taken[wanted.secret]
        if keys is None or wanted.key in keys:
            return
        raise HarnessError(
            f"`{field}.key` is {wanted.key!r}, but the manifest takes only {', '.join(sorted(keys))} of Secret "
            f"{wanted.secret!r}: the deployer would never see it",
            where=spec.path,
            fix=f"name the key the manifest takes: `{field}: {{secret: {wanted.secret}, key: {sorted(keys)[0]}}}`",
        )
    others = ", ".join(sorted(taken)) or "none"
    rendered = " (as rendered)" if spec.manifest.is_dir() else ""
    raise HarnessError(
        f"`{field}.secret` is {wanted.secret!r}, a Secret the manifest's pod never mounts nor reads: the deployer "
        f"would never see it; the Secrets it takes: {others}",
        where=spec.path,
        fix=f"name the Secret the manifest mounts{rendered}: `{field}: {{secret: {_closest(wanted.secret, taken)}, "
        "key: ...}`"
        if taken
        else f"mount the Secret in the Job's pod (a `secret` volume), or drop `{field}`",
    )


def _closest(written: str, taken: Iterable[str]) -> str:
    """The Secret a name most likely means: as a kustomization renders it (a prefix before it, a suffix or content
    hash after it), else the most alike."""
    names = sorted(taken)
    bare = {name: re.sub(r"-[2456789bcdfghkmt]{10}$", "", name) for name in names}  # kustomize's name hash
    for around in (re.compile(rf".+-{re.escape(written)}"), re.compile(rf"{re.escape(written)}-.+")):
        found = sorted((n for n in names if around.fullmatch(bare[n])), key=lambda n: (len(bare[n]), n))
        if found:
            return found[0]
    return str((difflib.get_close_matches(written, names, n=1) or names)[0])


def _secrets_taken(pod: PodSpec) -> dict[str, set[str] | None]:
    """Secret -> the keys the pod takes from it (None: every key)."""
    taken: dict[str, set[str] | None] = {}
    for volume in pod.volumes:
        if volume.kind == "secret":
            keys = None if not volume.items else {item.key for item in volume.items}
            taken[volume.source] = _union(taken.get(volume.source, set()), keys)
    for container in (*pod.init_containers, *pod.containers):
        for var in container.env:
            if var.ref is not None and var.ref.kind == "secret":
                taken[var.ref.name] = _union(taken.get(var.ref.name, set()), {var.ref.key})
        for env_from in container.env_from:
            if env_from.kind == "secret":
                taken[env_from.name] = None
    return taken


def _union(have: set[str] | None, more: set[str] | None) -> set[str] | None:
    return None if have is None or more is None else have | more
