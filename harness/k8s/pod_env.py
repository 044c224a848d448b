"""A container's environment and volume files from its pod template and the test values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.engine.archive import Entry
from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.expand import expand
from harness.k8s.pod import Container, PodSpec, Volume

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


@dataclass(frozen=True)
class Sources:
    """Secrets and ConfigMaps as the cluster would hold them (test values from the spec)."""

    secrets: dict[str, dict[str, str]]
    config_maps: dict[str, dict[str, str]]
    spec_path: str  # named in errors: that is where the user adds a missing value
    fields: dict[str, str] = field(default_factory=dict)  # the Downward API: metadata.name, spec.nodeName, ...

    def lookup(self, kind: str, name: str, *, optional: bool, field: str) -> dict[str, str] | None:
        store = self.secrets if kind == "secret" else self.config_maps
        if name in store:
            return store[name]
        if optional:
            return None
        section = "secrets" if kind == "secret" else "config_maps"
        raise HarnessError(
            f"the manifest's `{field}` needs {'Secret' if kind == 'secret' else 'ConfigMap'} {name!r}, "
            "which has no test value",
            where=self.spec_path,
            fix=f"add `{section}: {{{name}: {{KEY: test-value}}}}` to the spec",
        )


def container_env(container: Container, sources: Sources, addresses: AddressMap) -> dict[str, str]:
    env: dict[str, str] = {}
    for index, source in enumerate(container.env_from):
        data = sources.lookup(
            source.kind, source.name, optional=source.optional, field=f"containers[{container.name}].envFrom[{index}]"
        )
        for key, value in (data or {}).items():
            if _ENV_NAME.match(source.prefix + key):  # Kubernetes skips invalid names
                env[source.prefix + key] = addresses.apply(value)
    for var in container.env:  # env wins over envFrom, and may refer to earlier variables
        if var.ref is not None and var.ref.kind == "field":
            if var.ref.key not in sources.fields:
                raise HarnessError(
                    f"env {var.name} asks for field {var.ref.key!r}, which the harness does not provide",
                    where=sources.spec_path,
                    fix=f"use one of: {', '.join(sorted(sources.fields))}",
                )
            env[var.name] = sources.fields[var.ref.key]
        elif var.ref is not None:
            data = sources.lookup(
                var.ref.kind,
                var.ref.name,
                optional=var.ref.optional,
                field=f"containers[{container.name}].env[{var.name}]",
            )
            if data is None:
                continue
            if var.ref.key not in data:
                if var.ref.optional:
                    continue
                raise HarnessError(
                    f"the manifest's `containers[{container.name}].env[{var.name}]` needs key {var.ref.key!r} of "
                    f"{var.ref.kind} {var.ref.name!r}, "
                    "which its test values lack",
                    where=sources.spec_path,
                    fix=f"add `{var.ref.key}` under `{var.ref.name}` in the spec",
                )
            env[var.name] = addresses.apply(data[var.ref.key])
        else:
            env[var.name] = addresses.apply(expand(var.value or "", env))
    return env


def volume_files(volume: Volume, sources: Sources, addresses: AddressMap) -> list[Entry]:
    """A secret or configMap volume's files, relative to the volume's root, with Kubernetes' modes.

    Production addresses in them are mapped like those in env.
    """
    entries: list[Entry] = []
    for relative, (content, mode) in _volume_files(volume, sources).items():
        parts = PurePosixPath(relative).parts
        entries += [Entry("/".join(parts[:depth]), None, 0o755) for depth in range(1, len(parts))]
        entries.append(Entry(relative, addresses.apply(content).encode(), mode))
    return entries


def sub_path_entries(pod: PodSpec, container: Container, sources: Sources, addresses: AddressMap) -> list[Entry]:
    """Single files mounted with ``subPath``: written into the container's own filesystem.

    Only the files themselves get entries: the engine creates missing parents, and an
    entry for an existing one (``/tmp``) would reset its mode.
    """
    entries: list[Entry] = []
    for mount in container.volume_mounts:
        volume = pod.volume(mount.name)
        if not mount.sub_path or volume.kind not in ("secret", "configMap"):
            continue
        for entry in volume_files(volume, sources, addresses):
            if entry.path == mount.sub_path and entry.content is not None:
                entries.append(Entry(mount.mount_path, entry.content, entry.mode))
    return entries


def _volume_files(volume: Volume, sources: Sources) -> dict[str, tuple[str, int]]:
    data = sources.lookup(volume.kind, volume.source, optional=volume.optional, field=f"volumes[{volume.name}]")
    if data is None:
        return {}
    if not volume.items:
        return {key: (value, volume.default_mode) for key, value in data.items()}
    files = {}
    for item in volume.items:
        if item.key not in data:
            raise HarnessError(
                f"the manifest's `volumes[{volume.name}]` projects key {item.key!r} of {volume.kind} "
                f"{volume.source!r}, "
                "which its test values lack",
                where=sources.spec_path,
                fix=f"add `{item.key}` under `{volume.source}` in the spec",
            )
        files[item.path] = (data[item.key], item.mode if item.mode is not None else volume.default_mode)
    return files
