"""The tags CI gives each commit's image, and the deployer's commits: what the image policy chooses from.

The tags come from the spec (``gitops.tags``: templates with ``{sha}``, ``{sha_long}``, ``{branch}`` and
``{timestamp}``, the commit's time in Unix seconds), else from the repository's workflows: the ``tags`` of each
``docker/metadata-action`` step, as the action writes them: ``type=sha`` (``prefix``, ``suffix``,
``format=short|long``), ``type=raw,value=...`` and ``type=ref,event=branch``, with the templates ``{{sha}}``,
``{{branch}}`` and ``{{date '...'}}`` (at the commit's time). Other types (``semver``, ``schedule``, ``pr``) make
no tag from a push to a branch and are left out, and said."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

MAX_COMMITS = 60
_DATE = re.compile(r"""\{\{\s*date\s+['"]([^'"]+)['"](?:\s+tz=['"][^'"]*['"])?\s*\}\}""")
_MOMENT = [("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")]


@dataclass(frozen=True)
class Commit:
    sha: str
    time: int  # Unix seconds (the committer's)
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:7]


@dataclass(frozen=True)
class TagRule:
    kind: str  # sha, raw, ref
    value: str = ""
    prefix: str | None = None  # None: not given
    suffix: str = ""
    long: bool = False

    def tag(self, commit: Commit, branch: str) -> str | None:
        made = self._made(commit, branch)
        return re.sub(r"[^a-zA-Z0-9._-]+", "-", made) if made is not None else None  # as metadata-action does

    def _made(self, commit: Commit, branch: str) -> str | None:
        if self.kind == "sha":  # metadata-action's default prefix is `sha-`; `prefix=` (empty) drops it
            prefix = "sha-" if self.prefix is None else self.prefix
            return f"{prefix}{commit.sha if self.long else commit.short}{self.suffix}"
        if self.kind == "ref":
            return f"{self.prefix or ''}{branch}{self.suffix}"
        if self.kind == "raw":
            return f"{self.prefix or ''}{render(self.value, commit, branch)}{self.suffix}"
        return None


def render(template: str, commit: Commit, branch: str) -> str:
    """metadata-action's templates, and the spec's `{sha}`-style ones, at this commit."""
    when = datetime.fromtimestamp(commit.time, tz=timezone.utc)

    def date(match: re.Match[str]) -> str:
        pattern = match.group(1)
        if pattern == "X":
            return str(commit.time)
        if pattern == "x":
            return str(commit.time * 1000)
        for moment, strftime in _MOMENT:
            pattern = pattern.replace(moment, strftime)
        return when.strftime(pattern)

    text = _DATE.sub(date, template)
    for name, value in (("sha", commit.short), ("branch", branch)):
        text = re.sub(r"\{\{\s*" + name + r"\s*\}\}", value, text)
    return (
        text.replace("{sha_long}", commit.sha)
        .replace("{sha}", commit.short)
        .replace("{branch}", branch)
        .replace("{timestamp}", str(commit.time))
    )


def metadata_action_rules(workflows: list[Path]) -> tuple[list[TagRule], list[str]]:
    """Every docker/metadata-action step's tag rules, and what was left out (a type that makes no tag from a push,
    a template or expression that is only known in CI, a step whose `flavor` adds a prefix or suffix)."""
    rules: list[TagRule] = []
    skipped: list[str] = []
    for path in workflows:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
        except yaml.YAMLError:
            continue
        for step in _steps(data):
            settings = step["with"] if isinstance(step.get("with"), dict) else {}
            lines = [line.strip() for line in str(settings.get("tags", "")).splitlines() if line.strip()]
            flavor = str(settings.get("flavor", ""))
            for line in lines:
                if re.search(r"(^|,)\s*enable\s*=\s*false\s*(,|$)", line):
                    continue  # makes no tag
                rule = None if re.search(r"(^|\n)\s*(prefix|suffix)\s*=\s*\S", flavor) else _rule(line)
                if rule is not None:
                    rules.append(rule)
                else:
                    skipped.append(f"{path.name}: `{line}`")
    return rules, skipped


def _steps(data: Any) -> list[dict[str, Any]]:
    """The docker/metadata-action steps of a workflow (any shape that is not one is read as none)."""
    jobs = data.get("jobs") if isinstance(data, dict) else None
    found = []
    for job in jobs.values() if isinstance(jobs, dict) else []:
        steps = job["steps"] if isinstance(job, dict) and "steps" in job else None
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and str(step.get("uses", "")).startswith("docker/metadata-action"):
                found.append(step)
    return found


_KNOWN_TEMPLATES = re.compile(r"\{\{\s*(?:sha|branch|date\s+['\"][^'\"]+['\"](?:\s+tz=['\"][^'\"]*['\"])?)\s*\}\}")


def _rule(line: str) -> TagRule | None:
    """A tag rule metadata-action applies to a push to a branch; None for one that makes no tag there, or whose
    value needs what only CI knows (`${{ github.run_number }}`, `{{commit_date}}`)."""
    if "=" not in line:
        line = f"type=raw,value={line}"  # a bare value is a raw tag
    fields = dict(part.split("=", 1) for part in re.split(r",(?![^{]*\}\})", line) if "=" in part)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    if any("${{" in value or "{{" in _KNOWN_TEMPLATES.sub("", value) for value in fields.values()):
        return None
    kind = fields.get("type", "raw")
    prefix, suffix = fields.get("prefix"), fields.get("suffix", "")
    if kind == "sha":
        return TagRule("sha", prefix=prefix, suffix=suffix, long=fields.get("format") == "long")
    if kind == "raw" and "value" in fields:
        return TagRule("raw", value=fields["value"], prefix=prefix, suffix=suffix)
    if kind == "ref" and fields.get("event") == "branch":
        return TagRule("ref", prefix=prefix, suffix=suffix)
    return None


def spec_rules(templates: list[str]) -> list[TagRule]:
    return [TagRule("raw", value=template) for template in templates]


def history(folder: Path, also: list[Path] | None = None) -> tuple[list[Commit], str, Path | None]:
    """The commits that changed the folder (or ``also``, what its manifest reads elsewhere in the repository),
    oldest first (the last :data:`MAX_COMMITS`), its branch, and the repository's root; none outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True, timeout=60
        ).stdout

    try:
        root = Path(git("rev-parse", "--show-toplevel").strip())
        branch = git("rev-parse", "--abbrev-ref", "HEAD").strip()
        if branch == "HEAD":  # a detached checkout, as CI's: the remote's default branch, else main
            remote = subprocess.run(
                ["git", "-C", str(folder), "symbolic-ref", "--short", "refs/remotes/origin/HEAD"],
                capture_output=True, text=True, timeout=60,
            ).stdout.strip()  # fmt: skip
            branch = remote.split("/", 1)[-1] if remote else "main"
        top = root.resolve()
        elsewhere = [
            f":(top,literal){p.resolve().relative_to(top)}" for p in also or [] if p.resolve().is_relative_to(top)
        ]
        log = git("log", f"-{MAX_COMMITS}", "--format=%H%x00%ct%x00%s", "--", ".", *elsewhere)
    except (OSError, subprocess.SubprocessError):
        return [], "", None
    commits = []
    for line in reversed(log.splitlines()):
        sha, time, subject = [*line.split("\0"), "", ""][:3]
        if sha and time.isdigit():
            commits.append(Commit(sha, int(time), subject))
    return commits, branch, root


def shallow(folder: Path) -> bool:
    """A shallow clone (CI's `fetch-depth: 1`): its history is cut, and so are the picks it shows."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-shallow-repository"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.stdout.strip() == "true"
