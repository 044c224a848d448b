"""The `secrets` step: the secret values the run handed out must not show on a remote command line, in the
deployer's log, in its image, or in a file others can read (see :mod:`harness.hygiene`). Each apply is judged once
(a step later in the scenario takes the applies since); counted as the spec's ``lint.severity`` and ``lint.allow``
say, with the evidence masked."""

from __future__ import annotations

import shlex
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from harness.checks import report as r
from harness.checks.judged import report_findings
from harness.checks.report import StepReport
from harness.deployment import Applied, Deployment
from harness.hygiene.commands import on_command_lines, windows
from harness.hygiene.finder import SecretFinder
from harness.hygiene.image import Baked, in_copied_files, in_metadata
from harness.k8s.manifest import manifest_sources
from harness.lint.findings import Finding
from harness.lint.policy import reported

FIX_COMMAND = (
    "send it on stdin (`ssh host 'cat > /etc/x/.env' < file`, a heredoc to `sh -s`), or copy a file written "
    "with `umask 077`: a command line is in `ps` for every local user while it runs"
)
FIX_LOG = "do not print it; print the key's name, or `********`"
FIX_IMAGE = "pass it at run time (a Secret in the Job's env or a mounted file), never as a build argument or a file"
FIX_WINDOW = "write it private from the start: `umask 077` before the write, or `install -m 600 /dev/stdin <path>`"
FIX_READABLE = "chmod 600 (or 640 with the group that reads it), and write it so: `install -m 600`"
SHOWN = 300


@dataclass
class _Progress:
    applies: int = 0  # the applies judged so far
    reported: set[tuple[str, str]] = field(default_factory=set)  # (machine, path) of readable files reported
    images: set[str] = field(default_factory=set)
    private: dict[str, set[str]] = field(default_factory=dict)  # by machine: files holding a secret, private, then


_PROGRESS: weakref.WeakKeyDictionary[Deployment, _Progress] = weakref.WeakKeyDictionary()
_IMAGES: dict[tuple[str, tuple[str, ...]], list[Baked]] = {}  # (image ID, secrets) -> what it holds: once a run


def secrets_hygiene(deployment: Deployment) -> StepReport:
    finder = SecretFinder(deployment.secrets.values, deployment.secrets.keys)
    progress = _PROGRESS.setdefault(deployment, _Progress())
    new = list(enumerate(deployment.history, 1))[progress.applies :]
    progress.applies = len(deployment.history)
    report = StepReport()
    if not finder.values:
        report.add(r.SECRETS, "no secret values handed out: nothing to look for")
        return report
    readable, private = _secret_files(deployment, finder)
    findings: list[Finding] = []
    before = {
        machine: frozenset(paths)
        for machine, paths in (progress.private or _private_in_pristine(deployment, private)).items()
    }  # carried from one apply to the next: what an apply made private stays so for the next
    for number, applied in new:
        findings += _on_command_lines(number, applied, finder) + _in_logs(number, applied, finder)
        findings += _windows(number, applied, private, before, finder)
        findings += _in_image(deployment, applied, finder, progress)
    progress.private = private
    for machine, path, mode in readable:
        if (machine, path) not in progress.reported:
            progress.reported.add((machine, path))
            message = f"holds a secret and has mode {mode:o}: every local user can read it"
            findings.append(Finding("secret-readable", Path(path), None, message, FIX_READABLE, machine=machine))
    spec = deployment.spec
    kept = reported(findings, spec.lint, spec.folder)
    looked = sum(len(applied.journal.get(m, [])) for _, applied in new for m in applied.journal)
    report.add(
        r.SECRETS,
        f"{len(finder.values)} secret value(s) looked for in {len(new)} apply(s), {looked} remote "
        f"command(s), their logs and the converged files: {sum(f.allowed is None for f in kept)} finding(s)"
        + (f", {declared} declared" if (declared := sum(f.allowed is not None for f in kept)) else ""),
    )
    report_findings(report, kept, spec.folder, "secrets")
    evidence = [f"{f.where(spec.folder)}: {f.detail}" for f in kept if f.detail]
    if evidence:
        report.section("secrets: the evidence, masked", "\n".join(evidence))
    return report


def _on_command_lines(number: int, applied: Applied, finder: SecretFinder) -> list[Finding]:
    found = []
    for machine, commands in applied.journal.items():
        for command in on_command_lines(commands, finder):
            found.append(
                Finding(
                    "secret-in-command",
                    Path(f"apply {number}, command {command.number}"),
                    None,
                    f"a secret is on the command line of an {command.kind} command",
                    FIX_COMMAND,
                    detail=_cut(finder.mask(command.command)),
                    machine=machine,
                )
            )
    return found


def _in_logs(number: int, applied: Applied, finder: SecretFinder) -> list[Finding]:
    found = []
    for source, log in _logs(applied.result).items():
        lines = [line for line in log.splitlines() if finder.holds(line)]
        if lines or finder.holds(log):
            shown = "\n".join(_cut(finder.mask(line)) for line in lines[:5]) or "(across its lines)"
            message = f"a secret is in the deployer's log ({source}), {len(lines) or 1} line(s)"
            found.append(Finding("secret-in-log", Path(f"apply {number}"), None, message, FIX_LOG, detail=shown))
    return found


def _logs(result: Any) -> dict[str, str]:
    """The pods' logs of an apply: each attempt of a Job's, each pod of a DaemonSet's."""
    logs = {f"attempt {a.number}, pod {a.pod}": a.logs for a in getattr(result, "attempts", [])}
    logs.update({f"pod {pod}": log for pod, log in (getattr(result, "pod_logs", None) or {}).items()})
    return logs


def _private_in_pristine(deployment: Deployment, private: dict[str, set[str]]) -> dict[str, set[str]]:
    """Of the files holding a secret now, those that were there, private, before the first apply."""
    found: dict[str, set[str]] = {}
    for machine, paths in private.items():
        pristine = deployment.state.pristine.get(machine)
        files = pristine.files if pristine is not None else {}
        found[machine] = {p for p in paths if p in files and not int(files[p].mode or "0", 8) & 0o004}
    return found


def _windows(
    number: int,
    applied: Applied,
    private: dict[str, set[str]],
    before: dict[str, frozenset[str]],
    finder: SecretFinder,
) -> list[Finding]:
    found = []
    for machine, commands in applied.journal.items():
        opened, before[machine] = windows(commands, private.get(machine, set()), before.get(machine, frozenset()))
        for window in opened:
            how_long = "within one command" if window.seconds is None else f"for {window.seconds:.2f} s"
            found.append(
                Finding(
                    "secret-readable",
                    Path(window.path),
                    None,
                    f"holds a secret, and was readable by every local user {how_long}: written by command "
                    f"{window.written.number} of apply {number}, made private by command {window.closed.number}",
                    FIX_WINDOW,
                    detail=f"command {window.written.number} ran `{_shown(window.written.command, finder)}`; "
                    f"command {window.closed.number} ran `{_shown(window.closed.command, finder)}`",
                    machine=machine,
                )
            )
    return found


def _in_image(deployment: Deployment, applied: Applied, finder: SecretFinder, progress: _Progress) -> list[Finding]:
    image = applied.version.image
    if image in progress.images:
        return []
    progress.images.add(image)
    try:
        image_id = deployment.image_id(image)
        key = (image_id, tuple(finder.values))
        if key not in _IMAGES:
            api = deployment.bench.client.api
            _IMAGES[key] = in_metadata(api.history(image_id), api.inspect_image(image_id).get("Config") or {}, finder)
    except (docker.errors.DockerException, OSError) as exc:  # said, not a verdict
        return [Finding("secret-in-image", Path(image), None, f"could not be read: {exc}", "", severity="warn")]
    baked = list(_IMAGES[key])
    spec = deployment.spec
    if applied.version.label == "current" and spec.name not in deployment.bench.given:
        skip = {spec.path.resolve(), (spec.folder / "tests").resolve()}
        skip |= {p.resolve() for p in manifest_sources(spec.manifest) if p.is_file()}  # a kustomization's files too
        skip |= {p.resolve() for p in (spec.drift.manifest, spec.tests) if p is not None}
        baked += in_copied_files(spec.build_context, spec.build_context / spec.dockerfile, finder, skip)
    return [
        Finding("secret-in-image", Path(image), None, f"{b.where} holds a secret", FIX_IMAGE, detail=b.evidence)
        for b in baked
    ]


def _secret_files(
    deployment: Deployment, finder: SecretFinder
) -> tuple[list[tuple[str, str, int]], dict[str, set[str]]]:
    """The watched files that hold a secret now, in folders every local user may enter (a file under /root, 700,
    is out of their reach whatever its mode): those others can read, and the paths of the private ones."""
    state = deployment.state
    taken = state.take({name: state.watch(name) for name in state.runners})
    readable: list[tuple[str, str, int]] = []
    private: dict[str, set[str]] = {}
    for machine, snapshot in taken.items():
        holding = {
            path: int(file.mode, 8)
            for path, file in snapshot.files.items()
            if file.type == "file" and file.content is not None and finder.holds(file.content.decode(errors="replace"))
        }
        reachable = _reachable(state.runners[machine], sorted(holding)) if holding else set()
        for path in sorted(reachable):
            if holding[path] & 0o004:
                readable.append((machine, path, holding[path]))
            else:
                private.setdefault(machine, set()).add(path)
    return readable, private


REACHABLE_SCRIPT = """
for f in "$@"; do
  d=$(dirname "$f"); ok=1
  while :; do
    m=$(stat -c %a "$d" 2>/dev/null) || { ok=0; break; }
    [ $(( 0$m & 1 )) -eq 1 ] || { ok=0; break; }
    [ "$d" = / ] && break
    d=$(dirname "$d")
  done
  [ "$ok" = 1 ] && printf '%s\\0' "$f"
done
"""


def _reachable(run: Callable[[str], tuple[int, bytes, bytes]], paths: list[str]) -> set[str]:
    """Of these files, those whose every folder others may enter (o+x)."""
    script = f"set -- {' '.join(shlex.quote(p) for p in paths)}\n{REACHABLE_SCRIPT}"
    _, out, _ = run(script)
    return {path for path in out.decode(errors="replace").split("\0") if path}


def _shown(command: str, finder: SecretFinder) -> str:
    """A command's first line, masked before it is cut: a cut could leave part of a secret the mask misses."""
    return _cut(finder.mask(command).splitlines()[0] if command.strip() else "")


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
