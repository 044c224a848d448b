"""Shell pitfalls that deployers hit and shellcheck does not flag, in the scripts a deployer ships.

- ``ssh-host-key``: host keys not checked (``StrictHostKeyChecking=no``, ``UserKnownHostsFile=/dev/null``, and in a
  Job's fresh container ``accept-new`` or ``ssh-keyscan >> known_hosts`` too: each run trusts whatever answers),
  so the deployer hands its key and secrets to whatever answers at the host's address. The fix is a known_hosts
  Secret; the harness fills it with the machines' real host keys (``known_hosts:`` in harness.yaml).
- ``curl-fail``: ``curl`` without ``-f``/``--fail`` whose output is kept (``-o``, ``-O``, a redirect, a pipe, or
  ``$(...)``): an HTTP error page is saved or run as if it were the download, and ``set -e`` never sees it. Not
  when the output goes to /dev/null, when ``-w '%{http_code}'`` hands the status to the script, or when the
  options come from a variable (they may hold ``-f``).

Commands are read with :mod:`shlex` (quotes and comments as the shell has them), a line and its ``\\``
continuations at a time.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from harness.lint.findings import Finding

SHEBANG = re.compile(r"^#!.*\b(ba|da|k|a)?sh\b")  # not zsh: shellcheck does not read it
_OPTION = r"""(?:(?:-o\s*["']?)|^\s*)"""  # an ssh `-o` option, or an ssh_config line: not a word in sed or grep
HOST_KEY_OFF = re.compile(
    rf"""{_OPTION}StrictHostKeyChecking\s*[= ]\s*["']?(?:no|off|false|accept-new)\b"""
    rf"""|{_OPTION}UserKnownHostsFile\s*[= ]\s*["']?/dev/null"""
    r"""|ssh-keyscan\b[^|;&\n]*>>?\s*\S*known_hosts(?=\s|$|;|&|\))"""
    r"""|ANSIBLE_HOST_KEY_CHECKING\s*=\s*["']?(?:false|no|0)\b""",
    re.IGNORECASE | re.MULTILINE,
)
KNOWN_HOSTS_FIX = (
    "pin the host key: mount a known_hosts Secret in the Job and pass `-o UserKnownHostsFile=<its path> -o "
    "StrictHostKeyChecking=yes`; give harness.yaml `known_hosts: {secret: <its name>, key: known_hosts}` and the "
    "harness fills it with the machines' real host keys"
)
_STARTS = {
    "|",
    "||",
    "&&",
    ";",
    "&",
    "(",
    ")",
    "then",
    "do",
    "else",
    "if",
    "elif",
    "while",
    "until",
    "!",
    "{",
    "$(",
    "|&",
}
_PREFIXES = {"sudo", "exec", "env", "time", "nice", "nohup", "timeout", "command", "xargs", "doas"}  # run a command
_ENDS = {"|", "||", "&&", ";", "&", ")", "}", "|&"}
MAX_LINE = 16384  # a longer line is data (a base64 blob), and shlex takes quadratic time on it
STDERR = re.compile(r"(?<![\w>])2>>?\s*[^\s;&|]+|\b\d>&\d|>&2\b")
_OPERATOR = re.compile(r"[;&|<>()]+")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


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
        code = _code(line)
        number, tokens = first_line + offset, _tokens(code) if "curl" in code and len(code) < MAX_LINE else None
        off = HOST_KEY_OFF.search(code)
        if off is not None:
            findings.append(
                Finding(
                    "ssh-host-key",
                    path,
                    number,
                    f"host keys are not checked (`{off.group(0).strip()}`): the deployer hands its key and "
                    "secrets to whatever answers at the address",
                    KNOWN_HOSTS_FIX,
                )
            )
        kept = tokens is not None and any(_unchecked_download(tokens, start) for start in _curls(tokens))
        if kept or any(_unchecked_capture(inner) for inner in CAPTURED.findall(code)):
            findings.append(
                Finding(
                    "curl-fail",
                    path,
                    number,
                    "`curl` without `-f` keeps an HTTP error page (saved, piped or captured) as if it were the "
                    "download; `set -e` never sees the error",
                    "add `-f` (or `--fail`), e.g. `curl -fsSL ...`",
                )
            )
    return findings


def _tokens(line: str) -> list[str] | None:
    """The shell's words and operators; `$(` as one operator. None where the line does not parse on its own."""
    line = STDERR.sub(" ", line)  # `2>err`, `2>&1`: where stderr goes keeps nothing of the download
    lexer = shlex.shlex(line.replace("$(", " $ ( "), posix=True, punctuation_chars=";&|<>()")
    lexer.wordchars += "$:{}[]@%+,=!^#"  # a URL, `${x}`, `"${opts[@]}"`, `${#a[@]}` stay one word
    lexer.commenters = ""  # the comment is gone already (`_code`, by the shell's rule)
    try:
        words = list(lexer)
    except ValueError:  # a quote that closes on a later line
        return None
    tokens: list[str] = []
    for word in words:
        if word == "(" and tokens and tokens[-1] == "$":
            tokens[-1] = "$("
        else:
            tokens.append(word)
    return tokens


def _curls(tokens: list[str]) -> list[int]:
    """Where `curl` runs as a command (not `apt-get install curl`, nor `echo curl`)."""
    found = []
    for index, token in enumerate(tokens):
        if token.rsplit("/", 1)[-1] != "curl":
            continue
        before = index - 1  # back over `sudo`, `timeout 10`, `HOME=/tmp`, `env -i`
        while before >= 0 and (
            tokens[before] in _PREFIXES or _ASSIGNMENT.match(tokens[before]) or tokens[before].startswith("-")
            or tokens[before].isdigit()
        ):  # fmt: skip
            before -= 1
        if before < 0 or tokens[before] in _STARTS:
            found.append(index)
    return found


def _unchecked_download(tokens: list[str], start: int) -> bool:
    args, index = [], start + 1
    while index < len(tokens) and not _OPERATOR.fullmatch(tokens[index]) and tokens[index] not in _ENDS:
        args.append(tokens[index])
        index += 1
    if _checked(args):
        return False
    captured = start > 0 and tokens[start - 1] == "$("
    return captured or _saves(args) or _redirected(tokens, index)


CAPTURED = re.compile(r"(?:\$\(|<\()\s*(?:\S*/)?curl\s([^()]*)\)")  # `"$(curl ...)"`, `<(curl ...)`


def _unchecked_capture(inner: str) -> bool:
    """The words of a captured curl (inside quotes too, where shlex keeps it one word)."""
    try:
        args = shlex.split(STDERR.sub(" ", inner))
    except ValueError:
        return False
    return not _checked(args)


def _checked(args: list[str]) -> bool:
    """A download whose error the script sees: `-f`, the status handed to it, or options it cannot read here."""
    return any(_fail_flag(a) for a in args) or _status_checked(args) or _flags_unknown(args)


def _fail_flag(arg: str) -> bool:
    return arg.startswith("--fail") or bool(re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", arg))


def _status_checked(args: list[str]) -> bool:
    """`-w '%{http_code}'`: the script gets the status and may test it."""
    return any(a in ("-w", "--write-out") or a.startswith("--write-out=") for a in args) and any(
        "http_code" in a or "response_code" in a for a in args
    )


_TAKES_ARGUMENT = {
    "-o", "--output", "-u", "--user", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
    "--data-urlencode", "-X", "--request", "-A", "--user-agent", "-e", "--referer", "-w", "--write-out", "-T",
    "--upload-file", "-b", "--cookie", "-c", "--cookie-jar", "-K", "--config", "-m", "--max-time",
    "--connect-timeout", "--retry", "--retry-delay", "--retry-max-time", "-F", "--form", "--cacert", "--cert",
    "--key", "-E", "-x", "--proxy", "--resolve", "--limit-rate", "-r", "--range", "-z", "--time-cond",
}  # fmt: skip


def _flags_unknown(args: list[str]) -> bool:
    """Options from a variable (`$CURL_OPTS`, `"${opts[@]}"`) may hold `-f`. A variable that is an option's
    argument (`-o "$tmp/f"`) or the URL holds none: the URL is the one positional word, or a literal one."""
    if any("[@]" in a or "[*]" in a for a in args):
        return True
    positional = [
        a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in _TAKES_ARGUMENT)
    ]
    variables = [a for a in positional if a.startswith("$")]
    literal_url = any("://" in a and not a.startswith("$") for a in positional)
    return len(variables) > (0 if literal_url else 1)


def _saves(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        target = args[index + 1] if index + 1 < len(args) else ""
        if arg in ("-o", "--output"):
            return target != "/dev/null"
        if arg.startswith("--output="):
            return arg != "--output=/dev/null"
        if arg in ("-O", "--remote-name", "--remote-name-all"):
            return True
        if re.fullmatch(r"-[a-zA-Z]+", arg) and arg[-1] in "oO" and not arg.startswith("--"):  # `-sSLo FILE`
            return arg[-1] == "O" or target != "/dev/null"
    return False


def _redirected(tokens: list[str], index: int) -> bool:
    """After curl's words: a pipe, or its output redirected somewhere kept (stderr and /dev/null aside)."""
    while index < len(tokens) and tokens[index] not in ("||", "&&", ";", "&", ")", ";;"):
        token = tokens[index]
        if token in ("|", "|&"):
            return True
        if token in (">", ">>", "&>", "&>>", ">|"):  # stderr's were taken out before (STDERR)
            target = tokens[index + 1] if index + 1 < len(tokens) else ""
            if target != "/dev/null":
                return True
        index += 1
    return False


HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>[A-Za-z_][A-Za-z0-9_]*)\1")


def _logical_lines(text: str) -> list[str]:
    """One entry a physical line; a line that ends with `\\` is joined with the next ones (reported at its start,
    the next entries left empty so line numbers stay). The body of a here-document that `cat` or `tee` writes out
    is text, not commands: left empty."""
    joined: list[str] = []
    carry: list[str] = []
    ending: str | None = None  # the word that ends the here-document being read
    for line in text.splitlines():
        if ending is not None:
            joined.append("")
            ending = None if line.strip() == ending else ending
            continue
        heredoc = HEREDOC.search(_code(line))
        if heredoc is not None and re.search(r"\b(cat|tee)\b", line[: heredoc.start()]):
            ending = heredoc["word"]  # text written out; a body fed to `bash -s` or `ssh` is checked as commands
        continued = line.rstrip().endswith("\\")
        carry.append(line.rstrip()[:-1] if continued else line)
        if continued:
            continue
        joined += [" ".join(carry)] + [""] * (len(carry) - 1)
        carry = []
    if carry:
        joined += [" ".join(carry)] + [""] * (len(carry) - 1)
    return joined


def _code(line: str) -> str:
    """The line without its comment: a `#` that starts a word, outside quotes."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line
