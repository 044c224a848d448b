"""shellcheck on the scripts a deployer ships and on the inline scripts of its manifests (`sh -c '...'`, a
DaemonSet's loop), each finding on the line where it is written: an inline script's lines are the manifest's.

Its errors are ``shellcheck`` (fail), its warnings ``shellcheck-warning`` (warn); its notes on style are left out.
shellcheck's own ``# shellcheck disable=SC....`` directives and ``.shellcheckrc`` files are honoured."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.lint.findings import Finding
from harness.lint.tools import find_tool, missing_tool, run_tool, tool_failed

LEVELS = {"error": ("shellcheck", "fail"), "warning": ("shellcheck-warning", "warn")}
DIALECTS = {"sh": "sh", "dash": "dash", "bash": "bash", "ash": "sh", "ksh": "ksh"}  # as shellcheck names them
NO_SHEBANG = "bash"  # a `.sh` file with no `#!` line is sourced, most often by bash
UNSUPPORTED_SHELL = 1071  # a zsh or fish script named .sh: not shellcheck's to judge


@dataclass(frozen=True)
class InlineScript:
    manifest: Path
    text: str
    first_line: int  # the manifest's line of the script's first line
    shell: str  # the shell that runs it: sh, bash, ...


def shellcheck(scripts: list[Path], inline: list[InlineScript], where: Path) -> list[Finding]:
    tool = find_tool("shellcheck")
    if tool is None:
        return [missing_tool("shellcheck", where)] if scripts or inline else []
    with_shebang = [path for path in scripts if _has_shebang(path)]
    groups: list[tuple[list[Path], str | None]] = [
        (with_shebang, None),
        ([path for path in scripts if path not in with_shebang], NO_SHEBANG),
    ]
    findings: list[Finding] = []
    for paths, dialect in groups:
        findings += _check_files(tool, paths, dialect, where, lambda path, line: (path, line))
    findings += _check_inline(tool, inline, where)
    return findings


def _check_inline(tool: str, inline: list[InlineScript], where: Path) -> list[Finding]:
    """Each inline script is written to a file with its shell's `#!` line, and its findings mapped back."""
    if not inline:
        return []
    with tempfile.TemporaryDirectory(prefix="deployer-harness-shellcheck-") as folder:
        written: dict[Path, InlineScript] = {}
        for index, script in enumerate(inline):
            path = Path(folder) / f"inline-{index}.sh"
            path.write_text(f"#!/bin/{DIALECTS.get(script.shell, 'sh')}\n{script.text}", encoding="utf-8")
            written[path] = script

        def placed(path: Path, line: int) -> tuple[Path, int]:
            script = written[path]
            return script.manifest, script.first_line + max(line - 2, 0)  # line 1 is the added `#!`

        rc = where / ".shellcheckrc"  # the deployer's: the temporary folder has none above it
        return _check_files(tool, list(written), None, where, placed, [f"--rcfile={rc}"] if rc.is_file() else [])


def _check_files(
    tool: str,
    paths: list[Path],
    dialect: str | None,
    where: Path,
    placed: Callable[[Path, int], tuple[Path, int]],
    extra: list[str] | None = None,
) -> list[Finding]:
    if not paths:
        return []
    argv = [tool, "--format=json1", "--severity=warning", "--external-sources", "--source-path=SCRIPTDIR"]
    if dialect is not None:
        argv.append(f"--shell={DIALECTS.get(dialect, dialect)}")
    result = run_tool([*argv, *(extra or []), *(str(path) for path in paths)])
    try:
        comments = json.loads(result.stdout or "{}").get("comments", [])
    except (ValueError, AttributeError):
        return [tool_failed("shellcheck", where, result)]
    findings = [] if result.returncode in (0, 1) else [tool_failed("shellcheck", where, result)]  # a file it could
    # not read (exit 2) is said; the others' findings stay
    for comment in comments:
        check = LEVELS.get(str(comment.get("level")))
        if check is None or comment.get("code") == UNSUPPORTED_SHELL:
            continue
        file, line = placed(Path(comment["file"]), int(comment.get("line") or 1))
        code = f"SC{comment.get('code')}"
        findings.append(
            Finding(
                check[0],
                file,
                line,
                f"{code}: {comment.get('message', '')}",
                f"see https://www.shellcheck.net/wiki/{code}; when it is meant, put "
                f"`# shellcheck disable={code}` and the reason on the line above",
                severity=check[1],
            )
        )
    return findings


def _has_shebang(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(2) == b"#!"
    except OSError:
        return False
