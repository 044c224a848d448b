"""The objects a kustomization builds, each with where it was read and the names it has had (patches and
references name an object as it was written, before prefixes, suffixes and hashes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "Node", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "CSIDriver", "CSINode", "RuntimeClass", "IngressClass",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
}  # fmt: skip
POD_TEMPLATE_KINDS = {"Job", "DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}


class SelectorError(ValueError):
    """A target's selector the subset does not read."""


@dataclass
class Resource:
    obj: dict[str, Any]
    origin: Path  # the file it was read from (a generator's: its kustomization)
    names: list[str] = field(default_factory=list)  # every name it has had, the first as written
    hashed: bool = False  # a generated ConfigMap or Secret, whose name gets its content's hash at the end

    def __post_init__(self) -> None:
        if not self.names:
            self.names.append(self.name)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def group(self) -> str:
        api = str(self.obj.get("apiVersion", ""))
        return api.rsplit("/", 1)[0] if "/" in api else ""

    @property
    def version(self) -> str:
        return str(self.obj.get("apiVersion", "")).rsplit("/", 1)[-1]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.setdefault("metadata", {})
        if not isinstance(meta, dict):  # a JSON 6902 patch may have made it so
            raise HarnessError(f"{self.kind} {self.names[0]}: its `metadata` is no mapping once patched",
                               where=self.origin, fix="patch `metadata` with a mapping")  # fmt: skip
        return meta

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    def rename(self, name: str) -> None:
        self.metadata["name"] = name
        self.names.append(name)

    def matches(self, target: dict[str, str]) -> bool:
        """A patch's target: kind, group and version exact; name and namespace as anchored regular expressions
        matched against any name the object has had; label and annotation selectors of `key=value` pairs."""
        for key, value in (("kind", self.kind), ("group", self.group), ("version", self.version)):
            if key in target and target[key] != value:
                return False
        if "name" in target and not any(re.fullmatch(target["name"], name) for name in self.names):
            return False
        if "namespace" in target and not re.fullmatch(target["namespace"], self.namespace or "default"):
            return False
        for key, meta in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
            values = self.metadata.get(meta)
            if key in target and not _selected(target[key], values if isinstance(values, dict) else {}):
                return False
        return True


def _selected(selector: str, values: dict[str, Any]) -> bool:
    if re.search(r"\s(in|notin)\s*\(", selector):
        raise SelectorError(f"the set-based selector {selector!r} is not in the harness's subset of kustomize")
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, _, value = term.partition("!=")
            if str(values.get(key.strip())) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.partition("=")
            if str(values.get(key.strip().rstrip("="))) != value.strip().lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in values:
                return False
        elif term not in values:
            return False
    return True


def pod_specs(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every pod spec the object holds (a workload's template, a CronJob's job template, a Pod's own)."""
    kind = obj.get("kind")
    paths = {"Pod": ("spec",), "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
    path = paths.get(str(kind), ("spec", "template", "spec") if kind in POD_TEMPLATE_KINDS else None)
    holder: Any = obj
    for key in path or ():
        holder = holder.get(key) if isinstance(holder, dict) else None
    if path and isinstance(holder, dict):
        yield holder


def containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod.get(key) or []:
            if isinstance(container, dict):
                yield container
