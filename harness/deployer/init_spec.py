"""``deployer-harness init NAME --manifest PATH``: a starting ``harness.yaml`` read from the deployer's real manifest,
and a skeleton of its testinfra checks. What the manifest cannot tell is named, to be filled in.

- a Job: a machine for every address in its containers' env and args; the Secret whose volume carries an SSH key;
  a placeholder for every Secret and ConfigMap key the pod takes that the manifest file does not define; the drift
  check when a CronJob sits beside the manifest;
- a DaemonSet: two nodes its nodeSelector matches, and one it does not (the placement check's control).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.deployer.spec import SPEC_FILE
from harness.errors import HarnessError
from harness.k8s.manifest import Manifest, load_manifest
from harness.k8s.pod import Container, PodSpec

PLACEHOLDER = "CHANGE-ME"
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w])")
_URL = re.compile(r"https?://[^\s\"']+")
_SSH_KEY_NAMES = ("id_ed25519", "id_rsa", "id_ecdsa", "ssh-privatekey", "identity")


@dataclass
class Draft:
    spec: dict[str, Any] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)  # what the manifest cannot tell, to fill in


def draft(folder: Path, manifest_path: Path) -> Draft:
    manifest = load_manifest(manifest_path)
    try:
        relative = manifest_path.resolve().relative_to(folder.resolve())
    except ValueError:
        raise HarnessError(
            f"the manifest is outside the deployer's folder {folder}", fix="give the manifest in its k8s/ folder"
        ) from None
    found = Draft({"manifest": str(relative)})
    if manifest.daemonset is not None:
        pod = manifest.daemonset.pod
        _nodes(found, pod)
        _sources(found, manifest, pod, [*pod.init_steps, *pod.containers])
        return found
    if manifest.job is None:
        raise HarnessError(
            "holds no Job and no DaemonSet", where=manifest_path, fix="give the manifest with the deployer's workload"
        )
    pod = manifest.job.pod
    containers = [*pod.init_steps, *pod.containers]
    _machines(found, containers)
    _ssh_key(found, pod, containers)
    _sources(found, manifest, pod, containers)
    _world(found, containers)
    _drift(found, folder, manifest_path)
    return found


def _machines(found: Draft, containers: list[Container]) -> None:
    named: dict[str, str] = {}  # address -> where it is
    for container in containers:
        for variable in container.env:
            for address in _hosts(variable.value or ""):
                named.setdefault(address, variable.name.lower().replace("_", "-"))
        for word in (*(container.command or ()), *(container.args or ())):
            for address in _hosts(word):
                named.setdefault(address, "")
    machines = {}
    for number, (address, name) in enumerate(named.items(), start=1):
        label = re.sub(r"[^a-z0-9-]", "-", name).strip("-") or f"host{number}"
        label = label if label not in machines else f"{label}-{number}"
        machines[label] = {"kind": "debian-12", "address": address}
    if not machines:
        machines["host1"] = {"kind": "debian-12", "address": "192.0.2.10"}
        found.left.append("machines.host1.address: the manifest names no IPv4 address; give the one it reaches")
    found.spec["machines"] = machines
    found.left.append("machines.*.kind: debian-12 is a guess; pve-8 for a Proxmox VE host")


def _hosts(text: str) -> list[str]:
    """The addresses of hosts in a value: not loopback, unspecified, a network (CIDR) or a version number's look."""
    found = []
    for match in _IPV4.finditer(text):
        before, after = text[max(0, match.start() - 1) : match.start()], text[match.end() : match.end() + 1]
        if after == "/" or (before and before in "vV"):
            continue
        try:
            address = ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        if not (address.is_loopback or address.is_unspecified or address.is_multicast):
            found.append(str(address))
    return found


def _ssh_key(found: Draft, pod: PodSpec, containers: list[Container]) -> None:
    mounted = {mount.name for container in containers for mount in container.volume_mounts}
    for volume in pod.volumes:  # a Secret of host keys of its own: the harness fills it with the machines' keys
        named = f"{volume.name} {volume.source}".lower().replace("-", "_")
        if volume.kind == "secret" and volume.name in mounted and "known_hosts" in named:
            keys_of = [item.key for item in volume.items if "known_hosts" in f"{item.key} {item.path}"]
            named_key = keys_of[0] if keys_of else "known_hosts"  # the item that becomes the known_hosts file
            found.spec["known_hosts"] = {"secret": volume.source, "key": named_key}
    for volume in pod.volumes:
        if volume.kind != "secret" or volume.name not in mounted:
            continue
        keys = [item.key for item in volume.items]
        key = next((k for k in keys if k in _SSH_KEY_NAMES), None)
        if key is None and "ssh" in f"{volume.name} {volume.source}".lower():
            key = keys[0] if keys else "id_ed25519"
            if not keys:
                found.left.append(f"ssh_key.key: the file name the deployer reads from Secret {volume.source}")
        if key is not None:
            found.spec["ssh_key"] = {"secret": volume.source, "key": key}
            if "known_hosts" in keys:
                found.spec["known_hosts"] = {"secret": volume.source, "key": "known_hosts"}
            return
    found.left.append("ssh_key: no Secret volume of the pod looks like an SSH key; name it (secret, key)")


def _sources(found: Draft, manifest: Manifest, pod: PodSpec, containers: list[Container]) -> None:
    """Placeholders for the Secret and ConfigMap keys the pod takes that the manifest file does not define."""
    wanted: dict[str, dict[str, dict[str, str]]] = {"secrets": {}, "config_maps": {}}
    defined = {"secrets": manifest.secrets, "config_maps": manifest.config_maps}
    filled = {found.spec.get(entry, {}).get("secret") for entry in ("ssh_key", "known_hosts")}  # by the harness

    def want(kind: str, name: str, key: str | None) -> None:
        if name in defined[kind] or (kind == "secrets" and name in filled):
            return
        keys = wanted[kind].setdefault(name, {})
        if key is None:
            found.left.append(f"{kind}.{name}: every key the pod takes from it (envFrom, or a whole volume)")
        else:
            keys[key] = PLACEHOLDER

    for container in containers:
        for variable in container.env:
            if variable.ref is not None and variable.ref.kind in ("secret", "configMap") and not variable.ref.optional:
                want("secrets" if variable.ref.kind == "secret" else "config_maps", variable.ref.name, variable.ref.key)
        for source in container.env_from:
            if not source.optional:
                want("secrets" if source.kind == "secret" else "config_maps", source.name, None)
    mounted = {mount.name for container in containers for mount in container.volume_mounts}
    for volume in pod.volumes:
        if volume.name in mounted and volume.kind in ("secret", "configMap") and not volume.optional:
            kind = "secrets" if volume.kind == "secret" else "config_maps"
            for item in volume.items or ():
                want(kind, volume.source, item.key)
            if not volume.items:
                want(kind, volume.source, None)
    for kind, values in wanted.items():
        if values:
            found.spec[kind] = values
    if any(PLACEHOLDER in keys.values() for values in wanted.values() for keys in values.values()):
        found.left.append(f"secrets, config_maps: test values for every {PLACEHOLDER}")


def _world(found: Draft, containers: list[Container]) -> None:
    """The URLs the pod is given (a release to download, say): the test network has no way out, so the world
    serves them; what it serves is the user's to say."""
    words = [v.value or "" for c in containers for v in c.env]
    words += [w for c in containers for w in (*(c.command or ()), *(c.args or ()))]
    found_urls = {url.rstrip("\"',;") for word in words for url in _URL.findall(word)}
    urls = sorted(url for url in found_urls if "$" not in url)  # a URL made at run time cannot be mapped here
    if urls:
        found.spec["world"] = {"urls": {url: {"text": PLACEHOLDER} for url in urls}}
        found.left.append("world.urls: what each URL serves (`file: world/NAME`, or a status), as the deployer expects")


def _drift(found: Draft, folder: Path, manifest_path: Path) -> None:
    for other in sorted(manifest_path.parent.glob("*.y*ml")):
        if other == manifest_path:
            continue
        try:
            cron_jobs = load_manifest(other).cron_jobs
        except HarnessError:
            continue
        if len(cron_jobs) == 1:
            found.spec["drift"] = {"manifest": str(other.resolve().relative_to(folder.resolve()))}
            return


def _nodes(found: Draft, pod: PodSpec) -> None:
    labels = dict(pod.placement.node_selector)
    targeted = {"labels": labels} if labels else {}
    found.spec["cluster"] = {"nodes": {"node1": targeted, "node2": dict(targeted), "node3": {}}}
    if labels:
        found.left.append("cluster.nodes.node3: a node the DaemonSet does not target (the placement check's control)")
    found.left.append("cluster.nodes: the labels and taints your nodes have; affinity and tolerations are not guessed")


def write_draft(folder: Path, found: Draft, name: str) -> list[Path]:
    """harness.yaml, and tests/test_NAME.py unless the deployer has tests already; never over an existing spec."""
    spec_path, tests = folder / SPEC_FILE, folder / "tests" / f"test_{name.replace('-', '_')}.py"
    if spec_path.exists():
        raise HarnessError(f"{spec_path} exists: it is left as it is", fix="remove it, or start from it")
    header = f"# Written by `deployer-harness init` from {found.spec['manifest']}.\n"
    left = "".join(f"# to fill in: {line}\n" for line in found.left)
    spec_path.write_text(header + left + yaml.safe_dump(found.spec, sort_keys=False, width=120))
    if any(tests.parent.glob("test_*.py")):
        return [spec_path]  # the checks it has stay the checks
    tests.parent.mkdir(exist_ok=True)
    tests.write_text(_SKELETON.format(name=name))
    return [spec_path, tests]


_SKELETON = '''"""What {name} leaves on its hosts, checked after every apply (testinfra).

Fixtures: `host` (the default machine), `hosts` (every machine by name), `secrets` (the spec's test values).
"""

import pytest


def test_what_the_deployer_guarantees(host):
    pytest.fail("no checks yet: assert what {name} guarantees, e.g. host.file('/etc/app.conf').mode == 0o640")
'''
