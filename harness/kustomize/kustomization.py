"""A kustomization file read strictly: the fields the harness's subset implements, and a clear refusal, naming the
field and the way out, for every other field kustomize knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.kustomize.paths import find_file
from harness.yaml_fields import Fields, load_yaml_documents

SUPPORTED = (
    "apiVersion", "kind", "metadata", "resources", "bases", "namespace", "namePrefix", "nameSuffix",
    "commonLabels", "labels", "commonAnnotations", "images", "configMapGenerator", "secretGenerator",
    "generatorOptions", "patches", "patchesStrategicMerge", "patchesJson6902", "sortOptions", "buildMetadata",
)  # fmt: skip
KNOWN_ELSEWHERE = (  # kustomize's own fields the subset leaves to kustomize itself
    "components", "crds", "replacements", "vars", "replicas", "helmCharts", "helmGlobals", "generators",
    "transformers", "validators", "configurations", "openapi", "inventory", "imageTags",
)  # fmt: skip
GENERATOR_OPTIONS = ("disableNameSuffixHash", "labels", "annotations", "immutable")
OUT_OF_SUBSET_FIX = (
    "install kustomize (or a kubectl that carries kustomize v4 or later) on PATH: the harness renders with it when "
    "it is there; or render the overlay once (`kubectl kustomize DIR > k8s/rendered.yaml`) and name that file"
)


@dataclass(frozen=True)
class Patch:
    file: Path  # where it is written: its own file, or the kustomization's for an inline patch
    where: str  # its entry in the kustomization: `patches[0]`
    body: Any  # a mapping (strategic merge) or a list of operations (JSON 6902)
    target: dict[str, str] = field(default_factory=dict)  # group, version, kind, name, namespace, labelSelector...


@dataclass(frozen=True)
class Generator:
    kind: str  # ConfigMap or Secret
    fields: Fields  # its entry, read when it runs (files are read then, relative to the kustomization)


@dataclass(frozen=True)
class Kustomization:
    file: Path
    resources: tuple[str, ...]
    top: Fields

    @property
    def directory(self) -> Path:
        return self.file.parent


def read(directory: Path) -> Kustomization:
    file = find_file(directory)
    if file is None:
        raise HarnessError(
            "holds no kustomization.yaml",
            where=directory,
            fix="name a manifest file, or a folder with a kustomization.yaml",
        )
    documents = load_yaml_documents(file, "kustomization")
    if len(documents) != 1:
        raise HarnessError(f"holds {len(documents)} YAML documents", where=file, fix="keep one kustomization in it")
    top = Fields(file, documents[0])
    for key in top.data:
        if key in KNOWN_ELSEWHERE:
            raise top.error(key, "is not in the harness's subset of kustomize (kustomize is not installed)",
                            OUT_OF_SUBSET_FIX)  # fmt: skip
    top = Fields(file, documents[0], known=SUPPORTED)
    kind = top.text("kind", "Kustomization")
    if kind != "Kustomization":
        raise top.error("kind", f"is {kind!r}; a manifest folder holds a Kustomization", "write `kind: Kustomization`")
    resources = top.string_list("resources") + top.string_list("bases")
    for resource in resources:
        if "://" in resource or resource.startswith(("github.com/", "git@", "gitlab.com/", "bitbucket.org/")):
            raise top.error(
                "resources", f"names {resource}, a remote resource: the run is offline",
                "vendor it into the repository and name its folder",
            )  # fmt: skip
    return Kustomization(file, resources, top)


def patches(k: Kustomization) -> tuple[list[Patch], list[Patch], list[Patch]]:
    """`patchesStrategicMerge`, `patches` and `patchesJson6902`, each read into bodies and targets."""
    strategic: list[Patch] = []
    for index, entry in enumerate(entries(k.top, "patchesStrategicMerge")):
        where = f"patchesStrategicMerge[{index}]"
        is_path = isinstance(entry, str) and "\n" not in entry.strip()
        strategic += _patches_from(k, where, entry if is_path else None, None if is_path else entry, {})
    general: list[Patch] = []
    json6902: list[Patch] = []
    for key, found in (("patches", general), ("patchesJson6902", json6902)):
        for index, entry in enumerate(entries(k.top, key)):
            fields = Fields(k.file, entry, f"{key}[{index}]", known=("path", "patch", "target", "options"))
            options = fields.mapping("options", known=("allowNameChange", "allowKindChange"))
            if any(options.flag(o, False) for o in ("allowNameChange", "allowKindChange")):
                raise options.error("allowNameChange", "(or allowKindChange) is not in the harness's subset of "
                                    "kustomize (kustomize is not installed)", OUT_OF_SUBSET_FIX)  # fmt: skip
            if key == "patchesJson6902" and not fields.has("target"):
                raise fields.error("target", "is required", "name the object: `target: {kind: Job, name: ...}`")
            if fields.has("path") == fields.has("patch"):
                raise fields.error("path", "or `patch` is needed, and only one", "give `path: FILE` or `patch: |`")
            path = fields.text("path") if fields.has("path") else None
            found += _patches_from(k, fields.prefix, path, fields.data.get("patch"), _target(fields))
    return strategic, general, json6902


def entries(top: Fields, key: str) -> list[Any]:
    value = top.data.get(key) or []
    if not isinstance(value, list):
        raise top.error(key, "must be a list", f"write `{key}:` followed by `- ...` items")
    return value


def _target(fields: Fields) -> dict[str, str]:
    known = ("group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector")
    target = fields.mapping("target", known=known)
    return {key: target.text(key) for key in known if target.has(key)}


def _patches_from(k: Kustomization, where: str, path: str | None, inline: Any, target: dict[str, str]) -> list[Patch]:
    """The patches of an entry: a file beside the kustomization (each of its documents), or written inline (YAML or
    JSON, as text or as YAML)."""
    if path is not None:
        file = k.directory / path
        if not file.is_file():
            raise HarnessError(f"`{where}` names {path}, which does not exist", where=k.file,
                               fix="give a path relative to the kustomization's folder")  # fmt: skip
        return [Patch(file, where, document, target) for document in load_yaml_documents(file, "patch")]
    if isinstance(inline, str):
        try:
            inline = yaml.safe_load(inline)
        except yaml.YAMLError as exc:
            raise HarnessError(f"`{where}` is no valid YAML: {exc}", where=k.file, fix="fix the inline patch") from None
    if not isinstance(inline, (dict, list)):
        raise HarnessError(f"`{where}` is no patch", where=k.file,
                           fix="give `path: patch.yaml`, or `patch: |` with the patch")  # fmt: skip
    return [Patch(k.file, where, inline, target)]


def generators(k: Kustomization) -> list[Generator]:
    found = []
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for index, entry in enumerate(entries(k.top, key)):
            known = ("name", "namespace", "behavior", "files", "literals", "envs", "env", "options", "type")
            found.append(Generator(kind, Fields(k.file, entry, f"{key}[{index}]", known=known)))
    return found
