"""kustomize itself, when this machine has it: `kustomize build`, or `kubectl kustomize` from a kubectl that
carries kustomize v4 or later (older ones carry v2, which lacks `patches` and `labels`)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

MINIMUM_MAJOR = 4
_LOG_PREFIX = re.compile(
    r"^[EWI]\d{4} [\d:.]+\s+\d+ \S+\] "
)  # kubectl's log line head: E1202 11:06:50.88 13051 run.go:72]


@dataclass(frozen=True)
class Tool:
    argv: tuple[str, ...]  # the command, before the folder
    version: str

    @property
    def name(self) -> str:
        return f"{' '.join(self.argv)} (kustomize {self.version})"

    def render(self, directory: Path) -> str:
        try:
            result = subprocess.run([*self.argv, str(directory)], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HarnessError(f"{' '.join(self.argv)} failed: {exc}", where=directory) from None
        if result.returncode != 0:
            lines = (_LOG_PREFIX.sub("", line) for line in result.stderr.splitlines())
            said = "\n".join(line for line in lines if not line.startswith("# Warning"))
            raise HarnessError(f"{' '.join(self.argv)} refused it:\n{said.strip()}", where=directory,
                               fix="run the same command by hand, and correct the kustomization")  # fmt: skip
        return result.stdout


@functools.cache
def installed(which: str = "auto") -> Tool | None:
    """The newest of ``kustomize`` on PATH and ``kubectl``'s kustomize, v4 or later; ``which`` picks one of them."""
    found = []
    if which in ("auto", "kustomize") and shutil.which("kustomize"):
        version = _version(["kustomize", "version"], r"v?(\d+\.\d+\.\d+)")
        found.append(Tool(("kustomize", "build"), version) if version else None)
    if which in ("auto", "kubectl") and shutil.which("kubectl"):
        version = _version(["kubectl", "version", "--client"], r"Kustomize Version:\s*v?(\d+\.\d+\.\d+)")
        found.append(Tool(("kubectl", "kustomize"), version) if version else None)
    usable = [t for t in found if t is not None and _numbers(t.version)[0] >= MINIMUM_MAJOR]
    return max(usable, key=lambda t: _numbers(t.version), default=None)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _version(argv: list[str], pattern: str) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(pattern, result.stdout + result.stderr)
    return found.group(1) if found else None
