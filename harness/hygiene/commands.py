"""What the journal of remote commands shows about secrets: a secret value on a command line (every local user
of the host reads it in `ps` while the command runs, and sshd's shell runs it as `sh -c '<command>'`), and a file
that holds a secret but was readable by others for a while (written with `>` or `tee`, made private by a later
`chmod`: `cat > .env` then `chmod 600 .env` is the window; `umask 077` or `install -m 600` closes it).

The window is found from the journal rather than by watching the paths: the journal has every command exactly as
sent, with its order and times, and costs nothing more; a watcher would have to be started on paths nobody knows
before the first apply, and polling could miss a window of milliseconds that the commands show plainly. A shell
that reads its script on stdin (`ssh host 'bash -s' < script`, `ssh host <<EOF`) is judged by that script, which
the journal keeps. What the journal cannot see is not judged: the mode an sftp or scp upload creates a file with
(its source's, which the journal does not carry), and what a script run from a file on the host does."""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from harness.hosts.journal import RemoteCommand
from harness.hygiene.finder import SecretFinder

_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")


@dataclass(frozen=True)
class Window:
    path: str
    written: RemoteCommand  # the command that wrote it, readable by others
    closed: RemoteCommand  # the command whose chmod made it private
    seconds: float | None  # from the write's end to the chmod's start (None: the same command)
    write: str = ""  # the simple command that wrote it, in the command or its script
    chmod: str = ""  # the one that made it private


@dataclass(frozen=True)
class Effect:
    kind: str  # "write-readable" | "write-private" | "chmod" | "remove"
    path: str
    piece: str  # the simple command that has it


def on_command_lines(commands: list[RemoteCommand], finder: SecretFinder) -> list[RemoteCommand]:
    return [command for command in commands if command.kind == "ssh" and finder.holds(command.command)]


def windows(
    commands: list[RemoteCommand], private_secret_files: set[str], private_before: frozenset[str] = frozenset()
) -> tuple[list[Window], frozenset[str]]:
    """Each file (of those that hold a secret and end private) written readable and chmod'ed later, and which of
    them are private after these commands. A file that was private before keeps its mode when `>` rewrites it: no
    window, unless it was removed first."""
    found: dict[str, Window] = {}
    open_writes: dict[str, tuple[RemoteCommand, str]] = {}  # path -> what wrote it readable, not chmod'ed yet
    private = set(private_before)
    for command in commands:
        if command.kind not in ("ssh", "shell"):
            continue
        text = command.command if command.script is None else f"{command.command}\n{command.script}"
        for effect in effects(text):
            path, kind = effect.path, effect.kind
            if path not in private_secret_files:
                continue
            if kind == "remove":
                private.discard(path)
            elif kind == "write-readable" and path not in private:
                open_writes.setdefault(path, (command, effect.piece))
            elif kind == "write-private":
                open_writes.pop(path, None)
                private.add(path)
            elif kind == "chmod" and path in open_writes and path not in found:
                written, write = open_writes.pop(path)
                gap = None
                if written is not command and written.ended is not None:
                    gap = round(max(command.started - written.ended, 0.0), 2)
                found[path] = Window(path, written, command, gap, write, effect.piece)
            if kind == "chmod":
                private.add(path)
    return list(found.values()), frozenset(private)


def effects(text: str) -> list[Effect]:
    """What a command (or a script) does to files, in order. Heredoc bodies are data, not commands; a variable
    set earlier in the text (`ENV=/opt/app/.env`, `export`, or before the command) is read where it is used."""
    found: list[Effect] = []
    cwd = "/root"
    umask = 0o022
    variables: dict[str, str] = {}
    for piece in _SEPARATORS.split(_without_heredoc_bodies(text)):
        try:
            given = shlex.split(_expand(piece, variables), comments=True, posix=True)
        except ValueError:  # a quote split by the separators: not a command
            continue
        words = _command_words(given)
        variables.update(_assignments(given[: len(given) - len(words)]))
        if words and words[0] in ("export", "readonly", "local", "declare"):
            variables.update(_assignments(words[1:]))
        if not words:
            continue
        program = words[0].rsplit("/", 1)[-1]
        shown = piece.strip()
        if program == "cd" and len(words) > 1:
            cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
        elif program == "umask" and len(words) > 1:
            umask = _umask(words[-1], umask)
        elif program == "rm":
            found += [Effect("remove", _absolute(cwd, w), shown) for w in words[1:] if not w.startswith("-")]
        elif program == "chmod":
            found += [Effect("chmod", _absolute(cwd, w), shown) for w in words[1:] if not _is_mode_or_option(w)]
        elif program == "install" and any(w in ("-m", "--mode") or w.startswith(("-m", "--mode=")) for w in words):
            found += [Effect("write-private", _absolute(cwd, words[-1]), shown)]  # created with its mode: no window
        kind = "write-private" if umask & 0o004 else "write-readable"
        for target in _written_by(_expand(piece, variables), program, words):
            found.append(Effect(kind, _absolute(cwd, target), shown))
    return found


_HEREDOC = re.compile(r"""(?<!<)<<(?!<)(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2""")


def _without_heredoc_bodies(text: str) -> str:
    """The text with each heredoc's body left out (the line that opens it stays): its lines are a file's content
    or a command's input, not commands of this shell."""
    kept: list[str] = []
    ends: list[tuple[str, bool]] = []  # delimiters still to come, in order, and whether tabs may precede them
    for line in text.split("\n"):
        if ends:
            delimiter, tabs = ends[0]
            if (line.lstrip("\t") if tabs else line) == delimiter:
                ends.pop(0)
            continue
        kept.append(line)
        ends += [(m.group(3), m.group(1) == "-") for m in _HEREDOC.finditer(line)]
    return "\n".join(kept)


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(piece: str, variables: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` of the variables known here; any other stays as written."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), piece)


def _assignments(words: list[str]) -> dict[str, str]:
    pairs = (word.split("=", 1) for word in words if "=" in word)
    return {name: value for name, value in pairs if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)}


_RUNNERS = {"sudo", "doas", "env", "command", "exec", "nice", "nohup", "time"}  # run the command that follows


def _command_words(words: list[str]) -> list[str]:
    """The command itself: a subshell's or group's opening taken off, and `sudo -u x`, `env A=1`, ... skipped."""
    if words and words[0].lstrip("({") != words[0]:
        words = [words[0].lstrip("({"), *words[1:]] if words[0].lstrip("({") else words[1:]
    while words and (words[0] in _RUNNERS or "=" in words[0].split("/")[0]):
        words = words[1:]
        while words and words[0].startswith("-"):  # sudo -u www-data, env -i: an option with its argument
            words = words[2:] if words[0] in ("-u", "-g", "-C") else words[1:]
    return words


def _umask(word: str, current: int) -> int:
    """`umask 077`, or the symbolic `umask u=rwx,go=`: only whether others may read matters here."""
    if word.isdigit():
        return int(word, 8)
    for clause in word.split(","):
        who, _, perms = clause.partition("=")
        if _ and ("o" in who or "a" in who or not who):
            return (current & ~0o004) if "r" in perms else (current | 0o004)
    return current


_QUOTED = re.compile(r"'[^']*'" + r'|"(?:[^"\\]|\\.)*"')


def _written_by(piece: str, program: str, words: list[str]) -> list[str]:
    """The files a simple command writes: the targets of `>` and `>>` (not `2>`, `>&`, nor a `>` inside quotes),
    and `tee`'s files."""
    unquoted = _QUOTED.sub(lambda m: m.group() if _after_redirect(piece, m.start()) else " " * len(m.group()), piece)
    targets = re.findall(r"""(?<![0-9&>])>>?\s*(?!&)(["']?)([^\s;&|<>"']+)\1""", unquoted)
    found = [target for _, target in targets if target != "/dev/null"]
    if program == "tee":
        found += [word for word in words[1:] if not word.startswith("-") and word not in (">", ">>")]
    return found


def _after_redirect(text: str, start: int) -> bool:
    return bool(re.search(r"(?<![0-9&>])>>?\s*$", text[:start]))


def _is_mode_or_option(word: str) -> bool:
    return word.startswith("-") or bool(
        re.fullmatch(r"[0-7]{3,4}|[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*", word)
    )


def _absolute(cwd: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(cwd, path))
