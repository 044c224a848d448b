"""What a deployer's Kubernetes manifests say about its images and its reach into the host.

- ``image-latest`` (fail): an image with no tag, or ``:latest``: what runs changes under the same manifest.
- ``image-digest`` (warn): a tag without a digest: a tag can be pushed again. (Flux image automation writes tags;
  a deployer that relies on it says so with ``lint.severity``.)
- ``host-access`` (fail): privileged containers, ``hostPID``, ``hostNetwork``, ``hostPath: /``: said for what they
  are. A node configurator needs them, and declares them in ``lint.allow`` with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.k8s.manifest import Manifest
from harness.k8s.pod import PodSpec
from harness.lint.findings import Finding


def check_manifest(manifest: Manifest) -> list[Finding]:
    text = _text(manifest.path)
    findings = []
    for kind, pod in pods(manifest):
        for container in (*pod.init_containers, *pod.containers):
            findings += _image(manifest.path, text, kind, container.name, container.image)
        findings += _host_access(manifest.path, text, kind, pod)
    return findings


def pods(manifest: Manifest) -> Iterator[tuple[str, PodSpec]]:
    """Every pod template of the manifest, with what holds it (`Job x`, `DaemonSet y`, `CronJob z`)."""
    if manifest.job is not None:
        yield f"Job {manifest.job.name}", manifest.job.pod
    if manifest.daemonset is not None:
        yield f"DaemonSet {manifest.daemonset.name}", manifest.daemonset.pod
    for name, job in manifest.cron_jobs.items():
        yield f"CronJob {name}", job.pod


def _image(path: Path, text: list[str], kind: str, container: str, image: str) -> list[Finding]:
    written = re.compile(rf"""^\s*-?\s*image:\s*["']?{re.escape(image)}["']?\s*(?:#.*)?$""")
    line = _line_of(text, lambda text_line: bool(written.match(text_line)))
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
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


def _host_access(path: Path, text: list[str], kind: str, pod: PodSpec) -> list[Finding]:
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
            path,
            _host_path_line(text) if word == "path: /" else _line_of(text, _WRITTEN[word]),
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


def _text(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _line_of(text: list[str], needle: str | Callable[[str], bool]) -> int | None:
    def found(line: str) -> bool:
        return needle(line) if callable(needle) else needle in line

    return next((number for number, line in enumerate(text, 1) if found(line)), None)
