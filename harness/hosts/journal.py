"""The journal of remote commands: every command a deployer's SSH sessions run on a machine, exactly as sent.

sshd on the machines runs root's sessions through ``vms/debian-12/harness-shell`` (its ForceCommand), which
records them while the folder ``JOURNAL`` exists: ssh's commands, the servers scp and sftp start, and sessions
without a command (a login shell reading ``ssh host <<EOF``'s script). Opening a journal makes the folder; closing
it takes the folder away (later sessions run unrecorded) and reads it back in one round trip. The harness's own
commands come over its own connection, which the opening names: the shell leaves them alone, and the reading
leaves out any that came over a connection opened again since. Sessions of other users are not recorded.

Used for the journal shown per apply, for crash points (``cut_after``: every command after the Nth is refused and
its connection dropped), and by checks that read what deployers send (a secret on a command line).
"""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import HarnessError

ScriptRunner = Callable[[str], tuple[int, bytes, bytes]]  # a machine's shell over the harness's connection

JOURNAL = "/run/harness/journal"
_DROP = f"rm -rf {JOURNAL} {JOURNAL}.*"  # the link, and every apply's folder
HELD = "held"  # the command that hold-after names waits while this file is in the journal
_SFTP_SERVERS = ("sftp-server", "internal-sftp")


@dataclass(frozen=True)
class RemoteCommand:
    number: int  # the order sessions started in on this machine, from 1
    command: str  # as the client sent it
    client: str  # "address port" of the connection it came over
    started: float  # seconds since the machine's boot (1/100 s)
    ended: float | None  # None: still running when the journal closed, or cut
    status: int | None  # its exit code; None as ``ended``
    cut: bool = False  # refused: its connection was dropped (a crash point)

    @property
    def kind(self) -> str:
        """ssh (a command), shell (a session without one: a login shell reading its stdin, `ssh host <<EOF`), scp
        (the legacy protocol's server) or sftp (also what scp uses since OpenSSH 9.0)."""
        if not self.command:
            return "shell"
        program = self.command.split(maxsplit=1)[0].rsplit("/", 1)[-1] if self.command.strip() else ""
        if program in _SFTP_SERVERS:
            return "sftp"
        return "scp" if program == "scp" else "ssh"

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else round(self.ended - self.started, 2)

    def line(self, mask: Callable[[str], str]) -> str:
        """One line for a report: masked before it is cut short, so no part of a secret shows."""
        status = "cut" if self.cut else ("running" if self.status is None else f"exit {self.status}")
        took = "" if self.seconds is None else f", {self.seconds:.2f} s"
        command = mask(self.command)
        shown = command if len(command) <= 200 else command[:197] + "..."
        what = repr(shown) if self.command else "(a login shell reading its stdin)"
        return f"{self.number:>3} {self.kind:<5} [{self.client}] {status}{took}: {what}"


def summary(commands: list[RemoteCommand]) -> str:
    """ "23 commands (18 ssh, 5 sftp) over 20 connections"."""
    if not commands:
        return "0 commands"
    kinds = Counter(c.kind for c in commands)
    parts = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items(), key=lambda item: -item[1]))
    connections = len({c.client for c in commands})
    cut = sum(c.cut for c in commands)
    return f"{len(commands)} commands ({parts}) over {connections} connections" + (f", {cut} cut" if cut else "")


def open_journal(run: ScriptRunner, cut_after: int | None = None, hold_after: int | None = None) -> None:
    """Start recording (a journal left open before is dropped). ``cut_after``: refuse every command after it.
    ``hold_after``: that command, once it ended, waits (its client with it) while a ``HELD`` file is there: a
    fault strikes meanwhile, exactly at that point of the deployer's run."""
    cut = f" && echo {int(cut_after)} > $d/cut-after" if cut_after is not None else ""
    cut += f" && echo {int(hold_after)} > $d/hold-after" if hold_after is not None else ""
    # This command comes over the harness's connection: its SSH_CLIENT names it, for the shell to leave alone.
    own = ' && echo "${SSH_CLIENT% *}" > $d/own'
    # JOURNAL links to a folder of this apply's, which names itself (a session of an earlier apply still running
    # writes into its own); the link comes last, once the folder holds everything the shell reads.
    made = f"d=$(mktemp -d {JOURNAL}.XXXXXX) && chmod 755 $d && echo $d > $d/self"
    code, _, err = run(f"{_DROP} ; {made}{own}{cut} && ln -sfn $d {JOURNAL}")
    if code != 0:
        raise HarnessError(f"could not open the journal of remote commands: {err.decode(errors='replace').strip()}")


def close_journal(run: ScriptRunner, own_client: Callable[[], str | None]) -> list[RemoteCommand]:
    """Stop recording and read what was recorded, in order, without the harness's own commands (``own_client``:
    the "address port" its connection comes from, asked once this command has run over it)."""
    code, out, err = run(
        f"[ -L {JOURNAL} ] || exit 0; d=$(readlink {JOURNAL}) && rm -f {JOURNAL} && tar -C $d -cf - . ; {_DROP}"
    )
    if code != 0:
        raise HarnessError(f"could not read the journal of remote commands: {err.decode(errors='replace').strip()}")
    own = own_client()
    return [c for c in parse_journal(out) if c.client != own]


def parse_journal(archive: bytes) -> list[RemoteCommand]:
    """The journal folder as a tar archive: ``N.command``, ``N.start`` ("uptime client"), ``N.end``
    ("uptime status", or "uptime cut")."""
    if not archive:
        return []
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name.removeprefix("./")] = handle.read()
    numbers = sorted(int(name.split(".")[0]) for name in files if name.endswith(".command") and name[0].isdigit())
    return [_record(number, files) for number in numbers]


def _record(number: int, files: dict[str, bytes]) -> RemoteCommand:
    start = files.get(f"{number}.start", b"").decode(errors="replace").strip().split(" ", 1)
    end = files.get(f"{number}.end", b"").decode(errors="replace").split()
    started = _seconds(start[0]) if start and start[0] else 0.0
    client = " ".join(start[1].split()[:2]) if len(start) > 1 else ""  # SSH_CLIENT: address, port, sshd's port
    cut = len(end) == 2 and end[1] == "cut"
    ended = _seconds(end[0]) if len(end) == 2 and not cut else None
    status = int(end[1]) if ended is not None and end[1].lstrip("-").isdigit() else None
    command = files[f"{number}.command"].decode(errors="replace")
    return RemoteCommand(number, command, client, started, ended, status, cut)


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0
