"""Reading the journal of remote commands: the shell's files back into records, in order."""

from __future__ import annotations

import io
import tarfile

from harness.hosts.journal import parse_journal, summary


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_records_come_back_in_order_with_their_kind_status_and_connection() -> None:
    files = {
        "own": b"172.24.0.1 40000\n",
        "10.command": b"scp -t /etc/nut/ups.conf",
        "10.start": b"100.50 192.0.2.9 51000 22\n",
        "10.end": b"100.61 0\n",
        "2.command": b"printf 'a\\nb'\nexit 4",
        "2.start": b"99.00 192.0.2.9 50000 22\n",
        "2.end": b"99.02 4\n",
        "3.command": b"/usr/lib/openssh/sftp-server",
        "3.start": b"99.10 192.0.2.9 50000 22\n",
        "11.command": b"systemctl restart nut-server",
        "11.start": b"101.00 192.0.2.9 52000 22\n",
        "11.end": b"101.00 cut\n",
    }
    commands = parse_journal(archive(files))
    assert [(c.number, c.kind, c.status, c.cut, c.client) for c in commands] == [
        (2, "ssh", 4, False, "192.0.2.9 50000"),
        (3, "sftp", None, False, "192.0.2.9 50000"),  # still running when the journal closed
        (10, "scp", 0, False, "192.0.2.9 51000"),
        (11, "ssh", None, True, "192.0.2.9 52000"),
    ]
    assert commands[0].command == "printf 'a\\nb'\nexit 4"  # exactly as sent, newlines and all
    assert commands[2].seconds == 0.11
    assert summary(commands) == "4 commands (2 ssh, 1 sftp, 1 scp) over 3 connections, 1 cut"


def test_a_secret_is_masked_before_a_long_command_is_cut_short() -> None:
    commands = parse_journal(archive({"1.command": b"x" * 190 + b"s3cret-value and more", "1.start": b"1.00 a 1 22\n"}))
    line = commands[0].line(lambda text: text.replace("s3cret-value", "***"))
    assert "s3cret" not in line and "s3c" not in line


def test_an_empty_or_absent_journal_has_no_records() -> None:
    assert parse_journal(b"") == []
    assert summary([]) == "0 commands"
