"""The lint scenario's work: every check over what a deployer ships, with no machine. Its manifests (the Job or
DaemonSet, the drift check's), its scripts (the deployer's folder and its image's build context) and the inline
scripts of its manifests (`sh -c '...'`, lines mapped back to the manifest), its cron.d files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import Manifest, load_manifest
from harness.lint import cron, shell
from harness.lint.findings import Finding
from harness.lint.manifests import check_manifest, pods
from harness.lint.policy import judged

SHELLS = ("sh", "bash", "dash", "ash")


@dataclass
class LintResult:
    findings: list[Finding]
    schedules: list[str]  # each cron entry's next month, a line each
    looked_at: list[Path]

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail" and f.allowed is None]


def lint(spec: DeployerSpec, now: datetime) -> LintResult:
    findings: list[Finding] = []
    looked: list[Path] = []
    for path in _manifests(spec):
        manifest = load_manifest(path)
        looked.append(path)
        findings += check_manifest(manifest) + _inline_scripts(manifest)
    for script in _files(spec, shell.shipped_scripts):
        looked.append(script)
        findings += shell.check_script(script, script.read_text(encoding="utf-8", errors="replace"))
    schedules = []
    for path in _files(spec, cron.shipped_cron_files):
        looked.append(path)
        found, entries = cron.check_file(path, path.read_text(encoding="utf-8", errors="replace"))
        findings += found
        for entry in entries:
            times, line = cron.time_findings(entry, now)
            findings += times
            schedules.append(line)
    kept = [f for f in judged(findings, spec.lint, spec.folder) if f.severity != "ignore"]
    return LintResult(kept, schedules, looked)


def _manifests(spec: DeployerSpec) -> list[Path]:
    return [path for path in (spec.manifest, spec.drift.manifest) if path is not None]


def _files(spec: DeployerSpec, find: Callable[[Path], list[Path]]) -> list[Path]:
    """In the deployer's folder, and in its image's build context when that is a folder of its own beside it (a
    context that holds the deployer's folder, `..`, would bring other deployers' files)."""
    folder, context = spec.folder.resolve(), spec.build_context.resolve()
    folders = [folder] if folder.is_relative_to(context) else [folder, context]
    return list(dict.fromkeys(path for where in folders for path in find(where)))


def _inline_scripts(manifest: Manifest) -> list[Finding]:
    """`sh -c '<script>'` in a container's command or args: checked as a script, its lines the manifest's."""
    text = manifest.path.read_text(encoding="utf-8", errors="replace")
    findings = []
    for _, pod in pods(manifest):
        for container in (*pod.init_containers, *pod.containers):
            argv = (*(container.command or ()), *(container.args or ()))
            if argv and argv[0].rsplit("/", 1)[-1] == "env":  # `/usr/bin/env bash -c ...`
                argv = argv[1:]
            if not argv or argv[0].rsplit("/", 1)[-1] not in SHELLS:
                continue
            for index, word in enumerate(argv[1:-1], 1):
                if word.startswith("-") and "c" in word and not word.startswith("--"):  # -c, -ec, -euc
                    script = argv[index + 1]
                    findings += shell.check_script(manifest.path, script, _first_line(text, script))
                    break
    return findings


def _first_line(text: str, script: str) -> int:
    """Where the script's first line stands in the manifest (a block scalar keeps its lines)."""
    first = next((line.strip() for line in script.splitlines() if line.strip()), "")
    lead = next((i for i, line in enumerate(script.splitlines()) if line.strip()), 0)  # blank lines before it
    for number, line in enumerate(text.splitlines(), 1):
        if first and first in line:
            return number - lead
    return 1
