"""Every Kubernetes object in the deployer's manifests, validated offline against Kubernetes' own schemas and
strict about unknown fields (kubernetes-validate): a misspelt field that the API server would drop, or refuse, is
found before anything runs. Each finding (``k8s-schema``) is on the line of the field.

A SOPS-encrypted object is checked without its ``sops`` block (the encrypted values are strings, as the decrypted
ones are). Kinds without a schema offline (custom resources: Flux's, kustomize's own file) are listed as not
checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from harness.kustomize.paths import FILE_NAMES, patch_files
from harness.lint.findings import Finding

MANIFEST_SUFFIXES = (".yaml", ".yml")
_UNEXPECTED = re.compile(r"\('(?P<key>[^']+)' was unexpected\)|\('(?P<keys>[^']+)', '")


@dataclass
class SchemaResult:
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[tuple[Path, str]] = field(default_factory=list)  # no schema offline, or no YAML
    version: str = ""


def manifest_files(folders: list[Path], skip: set[Path]) -> list[Path]:
    """The YAML files under the manifests' folders: the deployer's tests, the harness's own spec and the patches a
    kustomization.yaml names (partial objects, whole only once kustomize applies them) aside."""
    found: dict[Path, None] = {}
    kustomizations: list[Path] = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).parts
            if path.name in FILE_NAMES and path.is_file():
                kustomizations.append(path)
            if path.suffix in MANIFEST_SUFFIXES and path.is_file() and "tests" not in relative and path not in skip:
                found[path.resolve()] = None
    patches = {patch for path in kustomizations for patch in patch_files(path)}
    return [path for path in found if path not in patches]


def validate_files(paths: list[Path], version: str | None = None) -> SchemaResult:
    result = SchemaResult(version=version or kubernetes_validate.latest_version())
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            documents = list(zip(yaml.safe_load_all(text), yaml.compose_all(text), strict=True))
        except yaml.YAMLError as exc:
            result.not_checked.append((path, f"not YAML ({str(exc).splitlines()[0]})"))
            continue
        for data, node in documents:
            if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or "apiVersion" not in data:
                continue  # not a Kubernetes object (a config file may have a `kind` of its own)
            if not isinstance(data.get("apiVersion"), str):
                result.findings.append(_no_api_version(path, node, data))
                continue
            metadata = data.get("metadata")
            name = metadata.get("name", "") if isinstance(metadata, dict) else ""
            what = f"{data['kind']} {name}".strip()
            checked = {key: value for key, value in data.items() if key != "sops"}
            try:
                kubernetes_validate.validate(checked, result.version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                result.not_checked.append((path, f"{what} ({data['apiVersion']}): no schema offline"))
            except kubernetes_validate.ValidationError as error:
                result.findings.append(_invalid(path, node, what, error, result.version))
            except (TypeError, ValueError, KeyError, AttributeError) as error:  # a document too odd to validate
                result.not_checked.append((path, f"{what}: could not be validated ({type(error).__name__})"))
    return result


def _invalid(path: Path, node: yaml.Node, what: str, error: Any, version: str) -> Finding:
    where = list(error.path)
    unexpected = _UNEXPECTED.search(error.message)
    if unexpected is not None:
        where.append(unexpected.group("key") or unexpected.group("keys"))
    return Finding(
        "k8s-schema",
        path,
        _line(node, where),
        f"{what}: {_dotted(list(error.path)) or 'the object'}: {_short(error.message)} (Kubernetes {version}'s schema)",
        "correct the field's name or value as the Kubernetes API reference has it",
    )


def _no_api_version(path: Path, node: yaml.Node, data: dict[str, Any]) -> Finding:
    return Finding(
        "k8s-schema",
        path,
        _line(node, ["apiVersion"]),
        f"{data['kind']}: `apiVersion` is {data.get('apiVersion')!r}, not a group/version string",
        "write it as the API reference has it, e.g. `apiVersion: batch/v1`",
    )


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:300] + " ..."


def _dotted(path: list[Any]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def _line(node: yaml.Node, path: list[Any]) -> int:
    """The line where the deepest field of the path that exists is written (1-based)."""
    line = int(node.start_mark.line)
    for written, _ in _walk(node, path):
        line = int(written.start_mark.line)
    return line + 1


def _walk(node: yaml.Node, path: list[Any]) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Each step of the path: the node where it is written (a field's key, a list's item) and its value."""
    for part in path:
        if isinstance(node, yaml.MappingNode):
            matches = [(key, value) for key, value in node.value if getattr(key, "value", None) == str(part)]
            if not matches:
                return
            written, node = matches[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            written = node = node.value[part]
        else:
            return
        yield written, node
