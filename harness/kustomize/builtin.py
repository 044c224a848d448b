"""The harness's own subset of kustomize, for machines without it: resources and bases (files and folders, each
folder built first), ConfigMap and Secret generators (with kustomize's name hash), strategic-merge and JSON 6902
patches, then namespace, name prefix and suffix (references follow), labels, annotations and images, in
kustomize's order. Any other field is refused by name (harness/kustomize/kustomization.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

from harness.errors import HarnessError
from harness.kustomize import kustomization as kz
from harness.kustomize.generators import generate
from harness.kustomize.merge import PatchError, strategic_merge
from harness.kustomize.resources import Resource, SelectorError
from harness.kustomize.transform import (
    add_affixes,
    add_annotations,
    add_hashes,
    add_labels,
    set_images,
    set_namespace,
)
from harness.yaml_fields import Fields, load_yaml_documents


def build(directory: Path) -> list[Resource]:
    """Every object the kustomization in ``directory`` renders, in the order they were read."""
    resources = _build(directory.resolve(), ())
    add_hashes(resources)
    return resources


def _build(directory: Path, visiting: tuple[Path, ...]) -> list[Resource]:
    if directory in visiting:
        raise HarnessError("includes itself through its resources", where=directory, fix="remove the cycle")
    k = kz.read(directory)
    resources: list[Resource] = []
    for name in k.resources:
        path = (directory / name).resolve()
        if path.is_dir():
            added = _build(path, (*visiting, directory))
        elif path.is_file():
            added = _read(path)
        else:
            raise k.top.error("resources", f"names {name}, which does not exist", "give a file or a folder beside it")
        for resource in added:
            _add(resources, resource, k.file)
    options = k.top.mapping("generatorOptions", known=kz.GENERATOR_OPTIONS)
    for generator in kz.generators(k):
        generate(resources, generator, options)
    _transform(k, resources)
    return resources


def _read(path: Path) -> list[Resource]:
    found = []
    for document in load_yaml_documents(path, "resource"):
        if not isinstance(document, dict) or "kind" not in document:
            raise HarnessError("holds a document that is no Kubernetes object", where=path,
                               fix="give every document `apiVersion`, `kind` and `metadata.name`")  # fmt: skip
        items = document.get("items") if str(document["kind"]).endswith("List") else None
        for item in items if isinstance(items, list) else [document]:
            if not isinstance(item, dict) or not isinstance(item.get("metadata", {}), dict):
                raise HarnessError("holds an object whose `metadata` is no mapping (or an item that is no object)",
                                   where=path, fix="give every object `metadata: {name: ...}`")  # fmt: skip
            found.append(Resource(item, path))
    return found


def _add(resources: list[Resource], resource: Resource, file: Path) -> None:
    for other in resources:
        if (other.kind, other.name, other.namespace) == (resource.kind, resource.name, resource.namespace):
            raise HarnessError(
                f"builds {resource.kind} {resource.name} twice (from {other.origin} and {resource.origin})",
                where=file, fix="keep one; change the other with a patch",
            )  # fmt: skip
    resources.append(resource)


def _transform(k: kz.Kustomization, resources: list[Resource]) -> None:
    """kustomize's order: strategic-merge patches, patches, namespace, prefix and suffix, labels, annotations,
    JSON 6902 patches, images."""
    top = k.top
    strategic, general, json6902 = kz.patches(k)
    for patch in [*strategic, *general]:
        _apply(patch, resources)
    if top.has("namespace"):
        set_namespace(resources, top.text("namespace"))
    add_affixes(resources, top.text("namePrefix"), top.text("nameSuffix"))
    for index, entry in enumerate(kz.entries(top, "labels")):  # before commonLabels, which win a shared key
        labels = Fields(k.file, entry, f"labels[{index}]", known=("pairs", "includeSelectors", "includeTemplates"))
        selectors = labels.flag("includeSelectors", False)
        add_labels(
            resources, labels.string_map("pairs"), selectors, selectors or labels.flag("includeTemplates", False)
        )
    add_labels(resources, top.string_map("commonLabels"), selectors=True, templates=True)
    add_annotations(resources, top.string_map("commonAnnotations"))
    for patch in json6902:
        _apply(patch, resources)
    set_images(resources, _images(top))


def _images(top: Fields) -> list[dict[str, str]]:
    images = []
    for index, entry in enumerate(kz.entries(top, "images")):
        image = Fields(top.path, entry, f"images[{index}]", known=("name", "newName", "newTag", "digest"))
        for key, value in image.items():
            if not isinstance(value, str):  # `newTag: 1.10` would be the tag 1.1
                raise image.error(
                    key, f"is {value!r}, not a string", 'quote the value as you wrote it (`newTag: "1.10"`)'
                )
        images.append({key: image.text(key) for key in ("name", "newName", "newTag", "digest") if image.has(key)})
        if "name" not in images[-1]:
            raise image.error("name", "is required", "name the image as the manifests write it, without its tag")
    return images


def _apply(patch: kz.Patch, resources: list[Resource]) -> None:
    """A patch with a `target` changes every object it selects (none: nothing, as kustomize); a strategic-merge
    patch without one must name an object by its kind and name."""
    body, where = patch.body, f"`{patch.where}`"
    if not isinstance(body, (list, dict)):
        raise HarnessError(f"{where} is no patch (neither an object nor a list of operations)", where=patch.file,
                           fix="write a strategic-merge patch (mapping) or JSON 6902 operations (a list)")  # fmt: skip
    if isinstance(body, list) and not patch.target:
        raise HarnessError(f"{where}: a JSON 6902 patch needs a `target`", where=patch.file,
                           fix="add `target: {kind: ..., name: ...}`")  # fmt: skip
    try:
        targets = [r for r in resources if r.matches(patch.target or _identity(body, patch))]
    except re.error as exc:
        raise HarnessError(f"{where}: `target` holds a regular expression that does not compile: {exc}",
                           where=patch.file, fix="correct the target's name or namespace") from None  # fmt: skip
    except SelectorError as exc:
        raise HarnessError(f"{where}: {exc}", where=patch.file,
                           fix="use `key=value` selectors, or install kustomize") from None  # fmt: skip
    if not targets and isinstance(body, dict) and not patch.target:
        kind, name = body.get("kind"), (body.get("metadata") or {}).get("name")
        raise HarnessError(f"{where} patches {kind} {name}, which none of the resources is", where=patch.file,
                           fix="name the object as its resource file writes it (kind and metadata.name)")  # fmt: skip
    for resource in targets:
        try:
            if isinstance(body, list):
                resource.obj = jsonpatch.apply_patch(resource.obj, body)
                continue
            merged = strategic_merge(resource.obj, {**body, "metadata": _patch_metadata(body)})
        except (PatchError, jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise HarnessError(f"{where} cannot be applied to {resource.kind} {resource.name}: {exc}",
                               where=patch.file, fix="correct the patch's paths and values") from None  # fmt: skip
        if merged is None:
            resources.remove(resource)
        else:
            resource.obj = merged


def _identity(body: Any, patch: kz.Patch) -> dict[str, str]:
    """The object a strategic-merge patch without a target names: its kind and name, written literally."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    if "kind" not in body or not metadata.get("name"):
        raise HarnessError(f"`{patch.where}`: a patch without a `target` needs `kind` and `metadata.name`",
                           where=patch.file, fix="name the object it patches")  # fmt: skip
    target = {"kind": str(body["kind"]), "name": re.escape(str(metadata["name"]))}
    if metadata.get("namespace"):
        target["namespace"] = re.escape(str(metadata["namespace"]))
    return target


def _patch_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """A patch's metadata merges in, except the name and namespace that picked its object."""
    metadata = body.get("metadata")
    return {k: v for k, v in metadata.items() if k not in ("name", "namespace")} if isinstance(metadata, dict) else {}


def documents(resources: list[Resource]) -> str:
    return yaml.safe_dump_all([r.obj for r in resources], sort_keys=False)
