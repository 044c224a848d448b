"""The snapshot command: quoting, what it reads and how its output is parsed. Run here with the local sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.errors import TruncatedOutput
from harness.state.command import Watch, parse, script
from harness.state.derive import derive
from harness.state.model import FileState, Snapshot, UnitState


def run_locally(watch: Watch) -> Snapshot:
    out = subprocess.run(["sh", "-s"], input=script(watch).encode(), capture_output=True, check=False).stdout
    return parse("local", out)


@pytest.mark.parametrize("name", ["it's a $file", "back\\slash", "new\nline", "tab\there", "@@end"])
def test_files_with_awkward_names_are_listed_hashed_and_read(tmp_path: Path, name: str) -> None:
    odd = tmp_path / name
    odd.write_text("hello\n")
    odd.chmod(0o640)
    (tmp_path / "link").symlink_to(name)
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "noise.log").write_text("x")
    snapshot = run_locally(Watch(paths=(str(tmp_path),), exclude=(str(tmp_path / "skip"),)))
    entry = snapshot.files[str(odd)]
    assert (entry.type, entry.mode, entry.size, entry.content) == ("file", "640", 6, b"hello\n")
    assert entry.sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert snapshot.files[str(tmp_path / "link")].target == name
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


def test_neighbours_of_watched_files_are_listed(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("a")
    (tmp_path / "app.conf.bak").write_text("a")
    snapshot = run_locally(Watch(paths=(str(tmp_path / "app.conf"),), listings=(str(tmp_path),)))
    assert snapshot.listed == {str(tmp_path / "app.conf"), str(tmp_path / "app.conf.bak")}
    assert list(snapshot.files) == [str(tmp_path / "app.conf")]


def test_output_is_parsed_by_section() -> None:
    output = "\n".join(
        [
            "",
            "@@units",
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
            "@@packages",
            "ii \tnut\t2.8.0-7",
            "@@dpkg-lists",
            "12.5\tnut.list",
            "@@cron",
            "/etc/cron.d/app:*/5  *  * * * root   /bin/true",
            "@@passwd",
            "app:999:999::/opt/app:/usr/sbin/nologin",
            "@@shadow",
            "app:$y$j9T$salt$hash",
            "@@group",
            "app:999:",
            "@@sysctl",
            "net/ipv4/ip_forward\t1",
            "vm.swappiness\t60",
            "@@end",
        ]
    )
    snapshot = parse("web1", output.encode())
    assert snapshot.units == {
        "a.service": UnitState("a.service", load="loaded", active="active", invocation="1"),
        "b.timer": UnitState("b.timer", load="loaded", active="inactive"),
    }
    assert snapshot.packages["nut"].list_mtime == "12.5"
    assert snapshot.cron == {"/etc/cron.d/app": ("*/5 * * * * root /bin/true",)}
    [(name, record)] = snapshot.users.items()
    assert name == "app" and record.startswith("999:999::/opt/app:/usr/sbin/nologin:password ")
    assert "salt" not in record  # a digest of the hash, never the hash
    assert snapshot.sysctl == {"net.ipv4.ip_forward": "1", "vm.swappiness": "60"}


def test_a_command_that_died_half_way_says_how_far_it_got_but_not_what_it_read() -> None:
    with pytest.raises(TruncatedOutput) as raised:
        parse("web1", b"\n@@content\n/etc/app/.env\0c2VjcmV0\0\n@@cron\n/etc/cron.d/x:* * * * * root curl s3cret")
    assert str(raised.value) == (
        "the snapshot command on web1 stopped before its end; it printed: content (23 bytes), cron (40 bytes)"
    )


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
    assert derived.neighbourhoods == ("/etc",)


def test_packaged_files_are_left_to_dpkg_unless_configuration_or_edited_since() -> None:
    pristine = Snapshot("web1")
    installed = [
        _file("/usr/bin/htop", mtime="5.0"),
        _file("/etc/htoprc", mtime="5.0"),
        _file("/usr/share/x", mtime="50.0"),
    ]
    applied = Snapshot("web1", files={f.path: f for f in installed})
    packaged = {"/usr/bin/htop": "10.0", "/etc/htoprc": "10.0", "/usr/share/x": "10.0"}  # dpkg wrote its list at 10
    assert derive(pristine, applied, packaged).paths == ("/etc/htoprc", "/usr/share/x")


def test_owners_are_named_as_the_machine_names_them_and_unnamed_ids_stay_numbers() -> None:
    entry = "\0".join(["f", "640", "{u}", "{g}", "6", "1.0", "", "{p}"]) + "\0"
    listing = entry.format(u=0, g=999, p="/etc/app.conf") + entry.format(u=4242, g=4343, p="/srv/orphan")
    output = "\n".join(
        [
            "",
            "@@files",
            listing,
            "@@owners",
            "passwd",
            "root:0",
            "toor:0",  # getpwuid finds the first name of an id
            "group",
            "app:999",
            "@@end",
        ]
    )
    files = parse("web1", output.encode()).files
    assert (files["/etc/app.conf"].owner, files["/etc/app.conf"].group) == ("root", "app")
    assert (files["/srv/orphan"].owner, files["/srv/orphan"].group) == ("4242", "4343")


def test_owner_names_match_what_find_prints_on_this_computer(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    snapshot = run_locally(Watch(paths=(str(tmp_path),)))
    found = subprocess.run(["find", str(tmp_path / "a"), "-printf", "%u:%g"], capture_output=True, text=True).stdout
    entry = snapshot.files[str(tmp_path / "a")]
    assert f"{entry.owner}:{entry.group}" == found
