"""kustomize's built-in transformers, for the objects deployers hold: namespace, name prefix and suffix (and the
references to renamed objects), labels, annotations, images, and the content hash of generated names."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from harness.image_ref import ImageRef
from harness.kustomize.resources import CLUSTER_SCOPED, POD_TEMPLATE_KINDS, Resource, containers, pod_specs

Holder = tuple[str, dict[str, Any], str]  # the referenced kind, the mapping that holds the name, its key

_SELECTOR_KINDS = {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"}
_UNNAMED_KINDS = {"Namespace", "CustomResourceDefinition"}  # prefixes and suffixes leave their names


def set_namespace(resources: list[Resource], namespace: str) -> None:
    accounts = {r.name for r in resources if r.kind == "ServiceAccount"}
    for resource in resources:
        if resource.kind == "Namespace":
            resource.rename(namespace)
        elif resource.kind not in CLUSTER_SCOPED:
            resource.metadata["namespace"] = namespace
        if resource.kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in _dicts(resource.obj.get("subjects")):
                if (
                    isinstance(subject, dict)
                    and subject.get("kind") == "ServiceAccount"
                    and subject.get("name") in accounts
                ):
                    subject["namespace"] = namespace


def add_affixes(resources: list[Resource], prefix: str, suffix: str) -> None:
    renamed = {}
    for resource in resources:
        if resource.kind not in _UNNAMED_KINDS and (prefix or suffix):
            old = resource.name
            resource.rename(f"{prefix}{old}{suffix}")
            renamed[(resource.kind, old)] = resource.name
    fix_references(resources, renamed)


def add_hashes(resources: list[Resource]) -> None:
    """A generated ConfigMap's or Secret's name ends with a hash of its content, as kustomize's is."""
    renamed = {}
    for resource in resources:
        if resource.hashed:
            old = resource.name
            resource.rename(f"{old}-{content_hash(resource.obj)}")
            renamed[(resource.kind, old)] = resource.name
    fix_references(resources, renamed)


def content_hash(obj: dict[str, Any]) -> str:
    """kustomize's hash: sha256 of the object's kind and data as Go's encoding/json writes them (name left
    empty, keys sorted, <, > and & escaped), its first 10 hex digits with 0 1 3 a e spelled g h k m t."""
    encoded: dict[str, Any] = {"kind": obj.get("kind"), "name": "", "data": obj.get("data") or {}}
    if obj.get("kind") == "Secret":
        encoded["type"] = obj.get("type", "Opaque")
    elif obj.get("binaryData"):
        encoded["binaryData"] = obj["binaryData"]
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for plain, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                           ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(plain, escaped)
    return hashlib.sha256(text.encode()).hexdigest()[:10].translate(str.maketrans("013ae", "ghkmt"))


def fix_references(resources: list[Resource], renamed: dict[tuple[str, str], str]) -> None:
    if not renamed:
        return
    for resource in resources:
        for kind, holder, key in references(resource.obj):
            new = renamed.get((kind, holder.get(key, "")))
            if new is not None:
                holder[key] = new


def references(obj: dict[str, Any]) -> Iterator[Holder]:
    """Where an object names another by name: a pod's ConfigMaps, Secrets, claims and service account, a
    binding's role and service accounts."""
    for pod in pod_specs(obj):
        yield from _pod_references(pod)
    if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
        role = obj.get("roleRef")
        if isinstance(role, dict) and role.get("kind") in ("Role", "ClusterRole") and isinstance(role.get("name"), str):
            yield str(role["kind"]), role, "name"
        for subject in _dicts(obj.get("subjects")):
            if subject.get("kind") == "ServiceAccount" and isinstance(subject.get("name"), str):
                yield "ServiceAccount", subject, "name"


def _pod_references(pod: dict[str, Any]) -> Iterator[Holder]:
    for key, kind in (("serviceAccountName", "ServiceAccount"), ("serviceAccount", "ServiceAccount"),
                      ("priorityClassName", "PriorityClass")):  # fmt: skip
        if isinstance(pod.get(key), str):
            yield kind, pod, key
    for secret in _dicts(pod.get("imagePullSecrets")):
        yield "Secret", secret, "name"
    for volume in _dicts(pod.get("volumes")):
        yield from _named(volume, "configMap", "ConfigMap", "name")
        yield from _named(volume, "secret", "Secret", "secretName")
        yield from _named(volume, "persistentVolumeClaim", "PersistentVolumeClaim", "claimName")
        projected = volume.get("projected")
        for source in _dicts(projected.get("sources") if isinstance(projected, dict) else None):
            yield from _named(source, "configMap", "ConfigMap", "name")
            yield from _named(source, "secret", "Secret", "name")
    for container in containers(pod):
        for variable in _dicts(container.get("env")):
            yield from _named(variable.get("valueFrom"), "configMapKeyRef", "ConfigMap", "name")
            yield from _named(variable.get("valueFrom"), "secretKeyRef", "Secret", "name")
        for source in _dicts(container.get("envFrom")):
            yield from _named(source, "configMapRef", "ConfigMap", "name")
            yield from _named(source, "secretRef", "Secret", "name")


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list (an odd shape reads as nothing: the schema check says what is wrong with it)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _named(holder: Any, field: str, kind: str, key: str) -> Iterator[Holder]:
    inner = holder.get(field) if isinstance(holder, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get(key), str):
        yield kind, inner, key


def add_labels(resources: list[Resource], labels: dict[str, str], selectors: bool, templates: bool) -> None:
    if not labels:
        return
    for resource in resources:
        _set(resource.metadata, "labels", labels)
        spec = resource.obj.get("spec")
        if not isinstance(spec, dict):
            continue
        kind = resource.kind
        if selectors and kind in _SELECTOR_KINDS and isinstance(spec.setdefault("selector", {}), dict):
            _set(spec["selector"], "matchLabels", labels)
        elif selectors and kind in ("Service", "ReplicationController"):
            _set(spec, "selector", labels)
        elif selectors and kind == "Job" and isinstance((spec.get("selector") or {}).get("matchLabels"), dict):
            _set(spec["selector"], "matchLabels", labels)
        if templates:
            for metadata in _template_metadata(kind, spec):
                _set(metadata, "labels", labels)


def add_annotations(resources: list[Resource], annotations: dict[str, str]) -> None:
    if not annotations:
        return
    for resource in resources:
        _set(resource.metadata, "annotations", annotations)
        spec = resource.obj.get("spec")
        if isinstance(spec, dict):
            for metadata in _template_metadata(resource.kind, spec):
                _set(metadata, "annotations", annotations)


def _template_metadata(kind: str, spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The metadata of the templates a workload holds (made when missing, as kustomize does; odd shapes left)."""
    if kind in POD_TEMPLATE_KINDS:
        yield from _nested(spec, "template", "metadata")
    elif kind == "CronJob":
        yield from _nested(spec, "jobTemplate", "metadata")
        yield from _nested(spec, "jobTemplate", "spec", "template", "metadata")


def _nested(holder: Any, *keys: str) -> Iterator[dict[str, Any]]:
    for key in keys:
        if not isinstance(holder, dict):
            return
        holder = holder.setdefault(key, {})
    if isinstance(holder, dict):
        yield holder


def _set(holder: dict[str, Any], key: str, values: dict[str, str]) -> None:
    if values:
        current = holder.get(key)
        holder[key] = {**(current if isinstance(current, dict) else {}), **values}


def set_images(resources: list[Resource], images: list[dict[str, str]]) -> None:
    for resource in resources:
        for pod in pod_specs(resource.obj):
            for container in containers(pod):
                image = container.get("image")
                if isinstance(image, str):
                    container["image"] = new_image(image, images)


def new_image(image: str, images: list[dict[str, str]]) -> str:
    """An image reference after kustomize's `images:` (the first entry whose name is the image's)."""
    ref = ImageRef.parse(image)
    entry = next((e for e in images if e.get("name") == ref.name), None)
    if entry is None:
        return image
    name = entry.get("newName") or ref.name
    new_tag, new_digest = entry.get("newTag", ""), entry.get("digest", "")
    if new_tag or new_digest:  # a new digest alone drops the tag, a new tag alone the digest
        return str(ImageRef(name, new_tag, new_digest))
    return str(ImageRef(name, ref.tag, ref.digest))


def encoded(values: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
