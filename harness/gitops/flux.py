"""The deployer's Flux objects, read from its repository's YAML: ImageRepository, ImagePolicy,
ImageUpdateAutomation and the Kustomization that applies its manifest; and the setter markers
(``# {"$imagepolicy": "ns:name"}``, with ``:tag`` or ``:name``) that let the automation rewrite an image line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.gitops.policy import Policy
from harness.image_ref import ImageRef

IMAGE_GROUP = "image.toolkit.fluxcd.io/"
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io/"
FORCE_LABEL = "kustomize.toolkit.fluxcd.io/force"
_MARKER = re.compile(r"""#\s*(\{\s*"\$imagepolicy"\s*:\s*"(?P<ref>[^"]+)"\s*\})""")


@dataclass(frozen=True)
class Kustomization:
    name: str
    path: str  # spec.path, from the repository's root
    force: bool
    interval: str
    file: Path
    line: int


@dataclass(frozen=True)
class Marker:
    file: Path
    line: int
    policy: str  # namespace:name
    part: str  # "" (the whole image), "tag" or "name"
    text: str  # the line


@dataclass
class FluxObjects:
    repositories: dict[str, str] = field(default_factory=dict)  # namespace:name -> image
    policies: dict[str, Policy] = field(default_factory=dict)  # namespace:name -> policy
    policy_lines: dict[str, tuple[Path, int]] = field(default_factory=dict)
    automations: list[str] = field(default_factory=list)  # namespace:name of each ImageUpdateAutomation
    kustomizations: list[Kustomization] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.repositories or self.policies or self.automations)

    def policies_for(self, image: str) -> list[Policy]:
        """The policies over the repository of this image (its name, without tag or digest)."""
        name = image_name(image)
        return [p for p in self.policies.values() if self.repositories.get(p.repository) == name]


def job_forced(job: dict[str, Any]) -> bool:
    """The object asks Flux to replace it when an apply cannot change it (its force label or annotation, whose
    value Flux compares without regard to case)."""
    metadata = mapping_of(job.get("metadata"))
    return any(
        str(mapping_of(metadata.get(key)).get(FORCE_LABEL, "")).lower() == "enabled"
        for key in ("labels", "annotations")
    )


def image_name(image: str) -> str:
    return ImageRef.parse(image).name


def read_flux(paths: list[Path]) -> FluxObjects:
    found = FluxObjects()
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            documents = list(zip(yaml.safe_load_all(text), yaml.compose_all(text), strict=True))
        except yaml.YAMLError:
            continue
        for data, node in documents:
            if isinstance(data, dict):
                _read(found, data, path, int(node.start_mark.line) + 1 if node is not None else 1)
    return found


def mapping_of(value: Any) -> dict[str, Any]:
    """A field that should be a mapping; anything else (a list, a string) reads as empty, never a crash."""
    return value if isinstance(value, dict) else {}


def _read(found: FluxObjects, data: dict[str, Any], path: Path, line: int) -> None:
    api, kind = str(data.get("apiVersion", "")), data.get("kind")
    metadata = mapping_of(data.get("metadata"))
    ref = f"{metadata.get('namespace') or 'flux-system'}:{metadata.get('name', '')}"
    spec = mapping_of(data.get("spec"))
    if api.startswith(IMAGE_GROUP) and kind == "ImageRepository":
        found.repositories[ref] = str(spec.get("image", ""))
    elif api.startswith(IMAGE_GROUP) and kind == "ImagePolicy":
        found.policies[ref] = _policy(ref, spec, ref.split(":")[0])
        found.policy_lines[ref] = (path, line)
    elif api.startswith(IMAGE_GROUP) and kind == "ImageUpdateAutomation":
        found.automations.append(ref)
    elif api.startswith(KUSTOMIZE_GROUP) and kind == "Kustomization":
        found.kustomizations.append(
            Kustomization(
                ref, str(spec.get("path", "./")), spec.get("force") is True, str(spec.get("interval", "")), path, line
            )
        )


def _policy(ref: str, spec: dict[str, Any], namespace: str) -> Policy:
    repository = mapping_of(spec.get("imageRepositoryRef"))
    chosen = mapping_of(spec.get("policy"))
    rule = next((r for r in ("semver", "alphabetical", "numerical") if r in chosen), "")
    settings = mapping_of(chosen.get(rule))
    tags = mapping_of(spec.get("filterTags"))
    return Policy(
        name=ref,
        repository=f"{repository.get('namespace') or namespace}:{repository.get('name', '')}",
        rule=rule,
        order=str(settings.get("order", "asc")),
        range=str(settings.get("range", "")),
        pattern=str(tags.get("pattern", "")),
        extract=str(tags.get("extract", "")),
    )


def markers(path: Path) -> list[Marker]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        match = _MARKER.search(line)
        if match is None:
            continue
        try:
            reference = str(json.loads(match.group(1))["$imagepolicy"])
        except (ValueError, KeyError):
            continue
        parts = reference.split(":")
        part = parts[2] if len(parts) == 3 and parts[2] in ("tag", "name", "digest") else ""
        found.append(Marker(path, number, ":".join(parts[:2]), part, line.strip()))
    return found


def applies(kustomization: Kustomization, manifest: Path, root: Path) -> bool:
    """Whether the Kustomization's path holds the manifest (paths from the repository's root)."""
    base = (root / kustomization.path).resolve()
    return manifest.resolve().is_relative_to(base)
