"""Shell pitfalls that deployers hit and shellcheck does not flag, in the scripts a deployer ships.

- ``StrictHostKeyChecking=no`` or ``UserKnownHostsFile=/dev/null``: the deployer trusts whatever answers at the
  host's address, and hands it the SSH key and the secrets. The fix is a known_hosts Secret; the harness fills it
  with the machines' real host keys (``known_hosts:`` in harness.yaml), as it fills the SSH key.
- ``curl`` without ``-f``/``--fail`` whose output is saved (``-o``, ``>``) or piped: an HTTP error page is written
  or run as if it were the download, and ``set -e`` never sees it.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.lint.findings import Finding

SHEBANG = re.compile(r"^#!.*\b(ba|da|k|z)?sh\b")
HOST_KEY_OFF = re.compile(r"StrictHostKeyChecking[= ]+(no|off)\b|UserKnownHostsFile[= ]+/dev/null", re.IGNORECASE)
CURL = re.compile(r"(?<![\w-])curl\s(?P<args>[^|;&>\n]*)(?P<after>\|[^|]|>|;|&&|\|\||$)")
STDERR = re.compile(r"\d>&\d|2>>?\s*\S+|>\s*/dev/null")  # stderr, or output thrown away: nothing saved
FAIL_FLAG = re.compile(r"(?:^|\s)(?:--fail(?:-with-body|-early)?\b|-[a-zA-Z]*f[a-zA-Z]*\b)")
SAVES = re.compile(r"(?:^|\s)(?:-o|--output|-O|--remote-name)(?:\s|=|$)")
KNOWN_HOSTS_FIX = (
    "pin the host key: mount a known_hosts Secret in the Job and pass `-o UserKnownHostsFile=<its path> -o "
    "StrictHostKeyChecking=yes`; give harness.yaml `known_hosts: {secret: <its name>, key: known_hosts}` and the "
    "harness fills it with the machines' real host keys"
)


def shipped_scripts(folder: Path) -> list[Path]:
    """The deployer's shell scripts: ``*.sh`` and files with a shell's shebang (its tests aside)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or "tests" in path.relative_to(folder).parts:
            continue
        if path.suffix == ".sh" or (path.suffix == "" and _shebang(path)):
            found.append(path)
    return found


def _shebang(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return bool(SHEBANG.match(file.readline(200).decode(errors="replace")))
    except OSError:
        return False


def check_script(path: Path, text: str, first_line: int = 1) -> list[Finding]:
    """``first_line``: where the text starts in its file (an inline script of a manifest)."""
    findings = []
    for offset, line in enumerate(_logical_lines(text)):
        number, code = first_line + offset, _code(line)
        off = HOST_KEY_OFF.search(code)
        if off is not None:
            findings.append(
                Finding(
                    "ssh-host-key",
                    path,
                    number,
                    f"host key checking is off (`{off.group(0)}`): the deployer sends its key and secrets to "
                    "whatever answers at the address",
                    KNOWN_HOSTS_FIX,
                )
            )
        for curl in CURL.finditer(STDERR.sub("", code)):
            args, after = curl["args"], curl["after"]
            saved = bool(SAVES.search(args)) or after.startswith(">") or after.startswith("|")
            if saved and not FAIL_FLAG.search(args):
                findings.append(
                    Finding(
                        "curl-fail",
                        path,
                        number,
                        "`curl` without `-f` saves or pipes an HTTP error page as if it were the download; "
                        "`set -e` never sees the error",
                        "add `-f` (or `--fail`), e.g. `curl -fsSL ...`",
                    )
                )
    return findings


def _logical_lines(text: str) -> list[str]:
    """One entry a physical line; a line that ends with `\\` is joined with the next ones (reported at its start,
    the next entries left empty so line numbers stay)."""
    lines = text.splitlines()
    joined: list[str] = []
    carry: list[str] = []
    for line in lines:
        carry.append(line.rstrip("\\").rstrip() if line.rstrip().endswith("\\") else line)
        if line.rstrip().endswith("\\"):
            continue
        joined.append(" ".join(carry))
        joined += [""] * (len(carry) - 1)
        carry = []
    if carry:
        joined.append(" ".join(carry))
        joined += [""] * (len(carry) - 1)
    return joined


def _code(line: str) -> str:
    """The line without a comment (a `#` that starts a word)."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0]
