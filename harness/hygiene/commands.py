"""What the journal of remote commands shows about secrets: a secret value on a command line (every local user
of the host reads it in `ps` while the command runs, and sshd's shell runs it as `sh -c '<command>'`), and a file
that holds a secret but was readable by others for a while (written with `>` or `tee`, made private by a later
`chmod`: `cat > .env` then `chmod 600 .env` is the window; `umask 077` or `install -m 600` closes it).

The window is found from the journal rather than by watching the paths: the journal has every command exactly as
sent, with its order and times, and costs nothing more; a watcher would have to be started on paths nobody knows
before the first apply, and polling could miss a window of milliseconds that the commands show plainly. What the
journal cannot see is not judged: the script a login shell reads on its stdin (`ssh host <<EOF`), and the mode
an sftp or scp upload creates a file with (its source's, which the journal does not carry)."""

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


def on_command_lines(commands: list[RemoteCommand], finder: SecretFinder) -> list[RemoteCommand]:
    return [command for command in commands if command.kind == "ssh" and finder.holds(command.command)]


def windows(
    commands: list[RemoteCommand], private_secret_files: set[str], private_before: frozenset[str] = frozenset()
) -> tuple[list[Window], frozenset[str]]:
    """Each file (of those that hold a secret and end private) written readable and chmod'ed later, and which of
    them are private after these commands. A file that was private before keeps its mode when `>` rewrites it: no
    window, unless it was removed first."""
    found: dict[str, Window] = {}
    open_writes: dict[str, RemoteCommand] = {}  # path -> the command that wrote it readable, not chmod'ed yet
    private = set(private_before)
    for command in commands:
        if command.kind != "ssh":
            continue
        for kind, path in _effects(command.command):
            if path not in private_secret_files:
                continue
            if kind == "remove":
                private.discard(path)
            elif kind == "write-readable" and path not in private:
                open_writes.setdefault(path, command)
            elif kind == "write-private":
                open_writes.pop(path, None)
                private.add(path)
            elif kind == "chmod" and path in open_writes and path not in found:
                written = open_writes.pop(path)
                gap = None
                if written is not command and written.ended is not None:
                    gap = round(max(command.started - written.ended, 0.0), 2)
                found[path] = Window(path, written, command, gap)
            if kind == "chmod":
                private.add(path)
    return list(found.values()), frozenset(private)


def _effects(text: str) -> list[tuple[str, str]]:
    """What a command does to files, in order: ("write-readable" | "write-private" | "chmod" | "remove", path)."""
    effects: list[tuple[str, str]] = []
    cwd = "/root"
    umask = 0o022
    for piece in _SEPARATORS.split(text):
        try:
            words = _command_words(shlex.split(piece, comments=True, posix=True))
        except ValueError:  # a heredoc's body, a quote split by the separators: not a command
            continue
        if not words:
            continue
        program = words[0].rsplit("/", 1)[-1]
        if program == "cd" and len(words) > 1:
            cwd = posixpath.normpath(posixpath.join(cwd, words[1]))
        elif program == "umask" and len(words) > 1:
            umask = _umask(words[-1], umask)
        elif program == "rm":
            effects += [("remove", _absolute(cwd, word)) for word in words[1:] if not word.startswith("-")]
        elif program == "chmod":
            effects += [("chmod", _absolute(cwd, word)) for word in words[1:] if not _is_mode_or_option(word)]
        elif program == "install" and any(w in ("-m", "--mode") or w.startswith(("-m", "--mode=")) for w in words):
            effects += [("write-private", _absolute(cwd, words[-1]))]  # created with its mode: no window
        kind = "write-private" if umask & 0o004 else "write-readable"
        for target in _written_by(piece, program, words):
            effects.append((kind, _absolute(cwd, target)))
    return effects


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
