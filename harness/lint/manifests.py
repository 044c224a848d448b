"""What a deployer's Kubernetes manifests say about its images and its reach into the host.

- ``image-latest`` (fail): an image with no tag, or ``:latest``: what runs changes under the same manifest.
- ``image-digest`` (warn): a tag without a digest: a tag can be pushed again. (Flux image automation writes tags;
  a deployer that relies on it says so with ``lint.severity``.)
- ``host-access`` (fail): privileged containers, ``hostPID``, ``hostNetwork``, ``hostPath: /``: said for what they
  are. A node configurator needs them, and declares them in ``lint.allow`` with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from harness.image_ref import ImageRef
from harness.k8s.manifest import Manifest
from harness.k8s.pod import PodSpec
from harness.k8s.written import Finder, image_line, line_where, locate
from harness.lint.findings import Finding


def check_manifest(manifest: Manifest) -> list[Finding]:
    files = manifest.files
    findings = []
    for kind, pod in pods(manifest):
        for container in (*pod.init_containers, *pod.containers):
            findings += _image(files, kind, container.name, container.image)
        findings += _host_access(files, kind, pod)
    return findings


def _where(files: tuple[Path, ...], find: Finder) -> tuple[Path, int | None]:
    """The file and line that write it; unfound (a kustomization rewrote it), the manifest's own file."""
    return locate(files, find) or (files[0], None)


def pods(manifest: Manifest) -> Iterator[tuple[str, PodSpec]]:
    """Every pod template of the manifest, with what holds it (`Job x`, `DaemonSet y`, `CronJob z`)."""
    if manifest.job is not None:
        yield f"Job {manifest.job.name}", manifest.job.pod
    if manifest.daemonset is not None:
        yield f"DaemonSet {manifest.daemonset.name}", manifest.daemonset.pod
    for name, job in manifest.cron_jobs.items():
        yield f"CronJob {name}", job.pod


def _image(files: tuple[Path, ...], kind: str, container: str, image: str) -> list[Finding]:
    path, line = image_line(files, image) or (files[0], None)
    ref = ImageRef.parse(image)
    name, tag = str(ImageRef(ref.name, ref.tag, "")), ref.tag or None
    where = f"{kind}, container {container}: image `{image}`"
    if re.search(r"@[a-z0-9]+:[0-9a-f]{32,}$", image):  # pinned by digest (sha256, sha512)
        return []
    if tag is None or tag == "latest":
        return [
            Finding(
                "image-latest",
                path,
                line,
                f"{where} has {'no tag' if tag is None else 'the tag latest'}: "
                "what runs changes under the same manifest",
                f"pin a version tag, and its digest: `{name.rsplit(':', 1)[0] if tag else name}:1.2.3@sha256:...`",
            )
        ]
    return [
        Finding(
            "image-digest",
            path,
            line,
            f"{where} is pinned by tag only: a tag can be pushed again",
            f"add its digest: `{image}@sha256:...`",
            severity="warn",
        )
    ]


def _host_access(files: tuple[Path, ...], kind: str, pod: PodSpec) -> list[Finding]:
    reach = []
    if pod.host_pid:
        reach.append(("hostPID", "sees and signals every process of the node"))
    if pod.host_network:
        reach.append(("hostNetwork", "shares the node's network"))
    for container in (*pod.init_containers, *pod.containers):
        if container.security.privileged:
            reach.append(("privileged", f"container {container.name} runs with every capability and device"))
    for volume in pod.volumes:
        if volume.kind == "hostPath" and volume.source.rstrip("/") == "":
            reach.append(("path: /", f"volume {volume.name} mounts the node's whole filesystem"))
    return [
        Finding(
            "host-access",
            *_where(files, _host_path_line if word == "path: /" else line_where(_WRITTEN[word])),
            f"{kind}: {word}: {what}",
            "drop it, or declare it: `lint: {allow: [{check: host-access, reason: ...}]}` in harness.yaml",
        )
        for word, what in reach
    ]


_ROOT_PATH = re.compile(r"""\bpath:\s*["']?/["']?\s*(?:[,}]|$)""")  # `path: /`, `{path: /}`; not mountPath
_WRITTEN = {  # how each is written in the manifest, to find its line
    "hostPID": lambda line: bool(re.match(r"\s*hostPID:\s*true\b", line)),
    "hostNetwork": lambda line: bool(re.match(r"\s*hostNetwork:\s*true\b", line)),
    "privileged": lambda line: bool(re.match(r"\s*privileged:\s*true\b", line)),
}


def _host_path_line(text: list[str]) -> int | None:
    """The line of `path: /` under a `hostPath:` (on its line, or one of the next two)."""
    for index, line in enumerate(text):
        if "hostPath" in line:
            for offset, candidate in enumerate(text[index : index + 3]):
                if _ROOT_PATH.search(candidate):
                    return index + offset + 1
    return None
