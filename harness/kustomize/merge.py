"""Strategic merge patches, as kustomize applies them to Kubernetes objects: maps merge key by key (``null``
deletes), lists of named things merge by their key (a container by ``name``, a mount by ``mountPath``), other lists
are replaced; ``$patch: delete`` and ``$patch: replace`` are understood. The merged list keeps kustomize's order:
the patch's items first, then the items the patch does not name."""

from __future__ import annotations

import copy
from typing import Any

from harness.errors import HarnessError

# The list fields Kubernetes' API merges by key (its `patchMergeKey`), for the objects deployers hold.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "readinessGates": "conditionType",
    "topologySpreadConstraints": "topologyKey",
}
_DIRECTIVE = "$patch"


class PatchError(HarnessError):
    """A patch the subset cannot apply; the caller names its file."""


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """The target with the patch merged in (a new object), or None when the patch deletes it."""
    if patch.get(_DIRECTIVE) == "delete":
        return None
    return _merge_map(copy.deepcopy(target), patch)


def _merge_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive not in (None, "merge"):
        raise PatchError(f"`$patch: {directive}` is not a strategic merge directive the harness knows")
    for key, value in patch.items():
        if key == _DIRECTIVE:
            continue
        if isinstance(key, str) and key.startswith(
            "$"
        ):  # $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...
            raise PatchError(f"the directive `{key}` is not in the harness's subset of kustomize")
        if value is None or (isinstance(value, dict) and value.get(_DIRECTIVE) == "delete"):
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge_map(target[key], value)
        elif isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = _merge_list(key, target[key], value)
        else:
            target[key] = _clean(value)
    return target


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(field, [*target, *patch])
    if key is None or not all(isinstance(item, dict) for item in [*target, *patch]):
        return [_clean(item) for item in patch]
    if any(item.get(_DIRECTIVE) == "replace" for item in patch):
        return [_clean(item) for item in patch if item.get(_DIRECTIVE) != "replace"]
    remaining = list(target)
    merged: list[Any] = []
    for item in patch:
        if key not in item:
            raise PatchError(f"an item of `{field}` has no `{key}`, which Kubernetes merges that list by")
        found = next((t for t in remaining if t.get(key) == item[key]), None)
        if found is not None:
            remaining.remove(found)
        if item.get(_DIRECTIVE) == "delete":
            continue
        merged.append(_merge_map(found, item) if found is not None else _clean(item))
    return merged + remaining


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # a container's ports merge by containerPort, a Service's by port
        return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _clean(value: Any) -> Any:
    """A value added whole, without the directives and null fields that only mean something in a merge."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != _DIRECTIVE and v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
