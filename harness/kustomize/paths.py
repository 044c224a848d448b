"""What a kustomization folder reads, found leniently (any kustomize field, no validation): the kustomization
files, the resources and components they name (folders followed), and the patch and generator files. Whoever
renders it, lint, the secrets step, rollback and the gitops setters need these files; only the harness's own
subset refuses what it cannot render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def find_file(directory: Path) -> Path | None:
    return next((directory / name for name in FILE_NAMES if (directory / name).is_file()), None)


def read_paths(directory: Path) -> list[Path]:
    """Folders, kustomization files and the files they name, each once, the top folder's first."""
    found: dict[Path, None] = {}
    _walk(directory.resolve(), found)
    return list(found)


def patch_files(kustomization: Path) -> list[Path]:
    """The files a kustomization names as patches (`patches`, `patchesStrategicMerge`, `patchesJson6902`)."""
    data = _data(kustomization)
    named = [e for e in _entries(data, "patchesStrategicMerge") if isinstance(e, str)]
    for key in ("patches", "patchesJson6902"):
        named += [e["path"] for e in _entries(data, key) if isinstance(e, dict) and isinstance(e.get("path"), str)]
    return [(kustomization.parent / name).resolve() for name in named if "\n" not in name.strip()]


def _walk(directory: Path, found: dict[Path, None]) -> None:
    if directory in found:
        return
    found[directory] = None
    file = find_file(directory)
    if file is None:
        return
    found[file.resolve()] = None
    data = _data(file)
    for key in ("resources", "bases", "components", "transformers", "generators", "validators", "crds",
                "configurations"):  # fmt: skip
        for entry in (e for e in _entries(data, key) if isinstance(e, str)):  # inline plugin configs are no file
            path = (directory / entry).resolve()
            if path.is_dir():
                _walk(path, found)
            elif path.is_file():
                found[path] = None
    named = [p for p in patch_files(file) if p.is_file()]
    named += [directory / e["path"] for e in _entries(data, "replacements") if isinstance(e, dict) and "path" in e]
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        named.append(directory / openapi["path"])
    for chart in (c for c in _entries(data, "helmCharts") if isinstance(c, dict)):
        named += [directory / v for v in [chart.get("valuesFile"), *_entries(chart, "additionalValuesFiles")]
                  if isinstance(v, str)]  # fmt: skip
    for key in ("configMapGenerator", "secretGenerator"):
        for generator in (e for e in _entries(data, key) if isinstance(e, dict)):
            for value in [*_entries(generator, "files"), *_entries(generator, "envs"), generator.get("env")]:
                if isinstance(value, str):
                    named.append((directory / value.split("=", 1)[-1]).resolve())
    found.update(dict.fromkeys(p.resolve() for p in named if isinstance(p, Path) and p.is_file()))


def _data(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8", errors="replace"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _entries(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []
