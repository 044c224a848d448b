"""The snapshot command: quoting, what it reads and how its output is parsed. Run here with the local sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.state.command import Watch, parse, script
from harness.state.derive import derive
from harness.state.model import FileState, Snapshot, UnitState


def run_locally(watch: Watch) -> Snapshot:
    out = subprocess.run(["sh", "-c", script(watch)], capture_output=True, text=True, check=False).stdout
    return parse("local", out)


def test_files_with_awkward_names_are_listed_hashed_and_read(tmp_path: Path) -> None:
    odd = tmp_path / "it's a $file"
    odd.write_text("hello\n")
    odd.chmod(0o640)
    (tmp_path / "link").symlink_to("it's a $file")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "noise.log").write_text("x")
    snapshot = run_locally(Watch(paths=(str(tmp_path),), exclude=(str(tmp_path / "skip"),)))
    entry = snapshot.files[str(odd)]
    assert (entry.type, entry.mode, entry.size, entry.content) == ("file", "640", 6, b"hello\n")
    assert entry.sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert snapshot.files[str(tmp_path / "link")].target == "it's a $file"
    assert str(tmp_path / "skip") not in snapshot.files
    assert str(tmp_path / "skip" / "noise.log") not in snapshot.files


def test_large_files_are_hashed_but_not_carried(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    entry = run_locally(Watch(paths=(str(tmp_path),))).files[str(big)]
    assert entry.content is None
    assert len(entry.sha256) == 64


def test_a_missing_watched_path_is_simply_absent(tmp_path: Path) -> None:
    snapshot = run_locally(Watch(paths=(str(tmp_path / "nope"),)))
    assert snapshot.files == {}
    assert "root" in snapshot.users  # the rest of the host is read all the same


def test_the_wide_listing_has_no_digests(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    entry = run_locally(Watch(paths=(str(tmp_path),), digests=False)).files[str(tmp_path / "a")]
    assert (entry.sha256, entry.content) == ("", None)


def test_output_is_parsed_by_section() -> None:
    output = "\n".join(
        [
            "@units",
            "Id=a.service",
            "LoadState=loaded",
            "ActiveState=active",
            "InvocationID=1",
            "",
            "Id=missing.service",
            "LoadState=not-found",
            "",
            "Id=b.timer",
            "ActiveState=inactive",
            "LoadState=loaded",
            "@packages",
            "ii \tnut\t2.8.0-7",
            "@dpkg-lists",
            "12.5\tnut.list",
            "@cron",
            "/etc/cron.d/app:*/5  *  * * * root   /bin/true",
            "@passwd",
            "app:999:999::/opt/app:/usr/sbin/nologin",
            "@group",
            "app:999:",
            "@sysctl",
            "net/ipv4/ip_forward\t1",
            "vm.swappiness\t60",
            "@end",
        ]
    )
    snapshot = parse("web1", output)
    assert snapshot.units == {
        "a.service": UnitState("a.service", load="loaded", active="active", invocation="1"),
        "b.timer": UnitState("b.timer", load="loaded", active="inactive"),
    }
    assert snapshot.packages["nut"].list_mtime == "12.5"
    assert snapshot.cron == {"/etc/cron.d/app": ("*/5 * * * * root /bin/true",)}
    assert snapshot.users == {"app": "999:999::/opt/app:/usr/sbin/nologin"}
    assert snapshot.sysctl == {"net.ipv4.ip_forward": "1", "vm.swappiness": "60"}


def test_a_command_that_died_half_way_is_an_error() -> None:
    with pytest.raises(ValueError, match="stopped before its end"):
        parse("web1", "@files\nf\t644\troot\troot\t1\t1.0\t\t/x\n")


def _file(path: str, kind: str = "file", mtime: str = "1.0", mode: str = "644") -> FileState:
    return FileState(path, kind, mode, "root", "root", 1, mtime)


def test_derivation_watches_what_the_first_apply_touched() -> None:
    pristine = Snapshot(
        "web1",
        files={f.path: f for f in [_file("/etc", "dir"), _file("/etc/hosts"), _file("/etc/motd"), _file("/etc/old")]},
        units={"cron.service": UnitState("cron.service", invocation="1"), "ssh.service": UnitState("ssh.service")},
    )
    applied_files = [
        _file("/etc", "dir", mtime="9.0"),  # its entries changed: not watched itself
        _file("/etc/hosts", mtime="9.0"),  # rewritten
        _file("/etc/motd", mode="600"),  # chmod
        _file("/etc/app", "dir"),  # new directory: watched whole
        _file("/etc/app/app.conf"),
        _file("/etc/app/conf.d", "dir"),
    ]
    applied = Snapshot(
        "web1",
        files={f.path: f for f in applied_files},
        units={
            "cron.service": UnitState("cron.service", invocation="2"),
            "ssh.service": UnitState("ssh.service"),
            "app.service": UnitState("app.service"),
            "session-3.scope": UnitState("session-3.scope"),
            "user@0.service": UnitState("user@0.service"),
        },
    )
    derived = derive(pristine, applied)
    assert derived.paths == ("/etc/app", "/etc/hosts", "/etc/motd", "/etc/old")  # /etc/old was deleted
    assert derived.units == ("app.service", "cron.service")
