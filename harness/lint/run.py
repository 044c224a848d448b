"""The lint scenario's work: every check over what a deployer ships, with no machine. Its manifests (the Job or
DaemonSet, the drift check's, and every Kubernetes object beside them), its scripts (the deployer's folder and its
image's build context) and the inline scripts of its manifests (`sh -c '...'`, lines mapped back to the manifest),
its Dockerfile, its cron.d files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import Manifest, load_manifest, manifest_sources
from harness.lint import cron, shell
from harness.lint.dockerfile import base_images, hadolint
from harness.lint.findings import Finding
from harness.lint.manifests import check_manifest, pods
from harness.lint.policy import reported
from harness.lint.schemas import manifest_files, validate_files
from harness.lint.shellcheck import InlineScript, shellcheck

SHELLS = ("sh", "bash", "dash", "ash")


@dataclass
class LintResult:
    findings: list[Finding]
    schedules: list[str]  # each cron entry's next month, a line each
    looked_at: list[Path]
    not_checked: list[tuple[Path, str]]  # objects with no schema offline, files that are no YAML
    kubernetes: str  # the version of Kubernetes' schemas

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail" and f.allowed is None]


def lint(spec: DeployerSpec, now: datetime) -> LintResult:
    findings: list[Finding] = []
    looked: list[Path] = []
    inline: list[InlineScript] = []
    for path in _manifests(spec):
        manifest = load_manifest(path)
        looked.append(path)
        inline += _inline_scripts(manifest)
        findings += check_manifest(manifest)
    folders = {p if p.is_dir() else p.parent for m in _manifests(spec) for p in manifest_sources(m)}
    objects = manifest_files(sorted(folders), skip={spec.path.resolve()})
    schemas = validate_files(objects)
    findings += schemas.findings
    scripts = _files(spec, shell.shipped_scripts)
    findings += _script_findings(spec, scripts, inline)
    dockerfile = spec.build_context / spec.dockerfile
    findings += hadolint(dockerfile, spec.folder) + base_images(dockerfile, spec.build_args)
    crontabs = _files(spec, cron.shipped_cron_files)
    schedules = []
    for path in crontabs:
        found, entries = cron.check_file(path, path.read_text(encoding="utf-8", errors="replace"))
        findings += found
        for entry in entries:
            times, line = cron.time_findings(entry, now)
            findings += times
            schedules.append(line)
    kept = reported(findings, spec.lint, spec.folder)
    looked = list(dict.fromkeys([*looked, *objects, *scripts, dockerfile, *crontabs]))
    return LintResult(kept, schedules, looked, schemas.not_checked, schemas.version)


def _script_findings(spec: DeployerSpec, scripts: list[Path], inline: list[InlineScript]) -> list[Finding]:
    """The harness's own shell checks and shellcheck, on the shipped scripts and the manifests' inline ones."""
    findings = []
    for script in scripts:
        findings += shell.check_script(script, script.read_text(encoding="utf-8", errors="replace"))
    for written in inline:
        findings += shell.check_script(written.manifest, written.text, written.first_line)
    return findings + shellcheck(scripts, inline, spec.folder)


def _manifests(spec: DeployerSpec) -> list[Path]:
    return [path for path in (spec.manifest, spec.drift.manifest) if path is not None]


def _files(spec: DeployerSpec, find: Callable[[Path], list[Path]]) -> list[Path]:
    """In the deployer's folder, and in its image's build context when that is a folder of its own beside it (a
    context that holds the deployer's folder, `..`, would bring other deployers' files)."""
    folder, context = spec.folder.resolve(), spec.build_context.resolve()
    folders = [folder] if folder.is_relative_to(context) else [folder, context]
    return list(dict.fromkeys(path for where in folders for path in find(where)))


def _inline_scripts(manifest: Manifest) -> list[InlineScript]:
    """`sh -c '<script>'` in a container's command or args: checked as a script, its lines the manifest's."""
    files = manifest.files  # found anew on each read: once here
    lines: dict[str, list[tuple[Path, int]]] = {}
    for file in files:
        for text, numbers in _scalar_lines(file).items():
            lines.setdefault(text, []).extend((file, number) for number in numbers)
    found = []
    for _, pod in pods(manifest):
        for container in (*pod.init_containers, *pod.containers):
            argv = (*(container.command or ()), *(container.args or ()))
            if argv and argv[0].rsplit("/", 1)[-1] == "env":  # `/usr/bin/env bash -c ...`
                argv = argv[1:]
            if not argv or argv[0].rsplit("/", 1)[-1] not in SHELLS:
                continue
            shell_name = argv[0].rsplit("/", 1)[-1]
            for index, word in enumerate(argv[1:-1], 1):
                if word.startswith("-") and "c" in word and not word.startswith("--"):  # -c, -ec, -euc
                    script = argv[index + 1]
                    places = lines.get(script) or [(files[0], 1)]  # unfound: a kustomization rewrote it
                    file, line = places.pop(0) if len(places) > 1 else places[0]  # the same script twice: in turn
                    found.append(InlineScript(file, script, line, shell_name))
                    break
    return found


def _scalar_lines(path: Path) -> dict[str, list[int]]:
    """Each string of the manifest with the lines its text begins on (a block scalar's on the line after its
    `|`), in the order they are written."""
    found: dict[str, list[int]] = {}
    try:
        documents = list(yaml.compose_all(path.read_text(encoding="utf-8", errors="replace")))
    except yaml.YAMLError:
        return found
    pending: list[yaml.Node] = [node for node in documents if node is not None]
    scalars: list[yaml.ScalarNode] = []
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.ScalarNode):
            scalars.append(node)
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value
        elif isinstance(node, yaml.MappingNode):
            pending += [value for _, value in node.value]
    for node in sorted(scalars, key=lambda n: (n.start_mark.line, n.start_mark.column)):
        first = int(node.start_mark.line) + (1 if node.style in ("|", ">") else 0) + 1
        found.setdefault(node.value, []).append(first)
    return found
