"""Snapshot diffs: every kind of change and finding, the stat, patches and masking."""

from __future__ import annotations

from dataclasses import replace

import pytest
from host_states import CONF, UNIT, snap

from harness.state.diff import compare, masker
from harness.state.model import FileState, Package, Snapshot


def kinds(before: Snapshot, after: Snapshot) -> list[tuple[str, str, str]]:
    return [(c.section, c.item, c.kind) for c in compare(before, after).changes]


def test_equal_snapshots_have_no_diff() -> None:
    diff = compare(snap(), snap())
    assert not diff
    assert diff.stat() == "no change"
    assert diff.to_data() == []


def test_content_change_gets_a_unified_diff_with_counts() -> None:
    changed = replace(CONF, sha256="b", content=b"a = 2\ntoken = s3cret-value\n", mtime="200.0")
    diff = compare(snap(), snap(files={CONF.path: changed}))
    [change] = diff.changes
    assert (change.kind, change.detail) == ("content", "+1 -1 lines")
    assert "-a = 1\n+a = 2" in change.patch
    assert change.patch.startswith("--- web1:/etc/app/app.conf\n+++ web1:/etc/app/app.conf")


def test_secrets_are_masked_in_patches_and_cron_entries() -> None:
    mask = masker(["s3cret-value", "abc"])  # "abc": too short to mask safely, left alone
    assert mask("abc s3cret-value") == "abc ********"
    changed = replace(CONF, sha256="b", content=b"a = 2\ntoken = s3cret-value\n")
    cron = {"/etc/cron.d/app": ("*/5 * * * * root /bin/true", "0 1 * * * root curl -H s3cret-value x")}
    diff = compare(snap(), snap(files={CONF.path: changed}, cron=cron), mask)
    rendered = diff.render()
    assert "s3cret-value" not in rendered
    assert "token = ********" in rendered
    assert "curl -H ******** x" in rendered


def test_a_multi_line_secret_is_masked_line_by_line() -> None:
    key = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"
    assert "AAAAB3NzaC1yc2EAAAADAQABAAABAQ" not in masker([key])("copied: AAAAB3NzaC1yc2EAAAADAQABAAABAQ")


@pytest.mark.parametrize(
    "shown",
    [
        "user: admin\npass: hunter2x",  # as is
        "    | user: admin\n    | pass: hunter2x",  # quoted line by line, as a log in a report
        "+user: admin\n+pass: hunter2x",  # in a patch
        "  > user: admin\r\n  > pass: hunter2x",
    ],
)
def test_a_multi_line_secret_of_short_lines_is_masked_however_its_lines_are_quoted(shown: str) -> None:
    masked = masker(["user: admin\npass: hunter2x\n"])(f"before\n{shown}\nafter")
    assert "admin" not in masked and "hunter2x" not in masked and masked.startswith("before\n")
    assert masked.endswith("********\nafter")


def test_the_short_lines_of_a_multi_line_secret_alone_stay() -> None:
    assert masker(["user: admin\npass: hunter2x"])("user: admin logged in") == "user: admin logged in"


@pytest.mark.parametrize(
    "written",
    [
        "pa%ss w0rd!",  # as is
        "pa\\%ss w0rd!",  # in a crontab
        "pa%25ss%20w0rd%21",  # in a URL
        "pa%25ss+w0rd%21",  # in a query string (a form's encoding)
        "cGElc3MgdzByZCE=",  # base64, as in a basic-auth header
    ],
)
def test_secrets_are_masked_in_the_forms_they_are_written(written: str) -> None:
    assert masker(["pa%ss w0rd!"])(f"x {written} y") == "x ******** y"


def test_json_escaped_secrets_are_masked() -> None:
    assert masker(['q"uote'])('{"token": "q\\"uote"}') == '{"token": "********"}'


def test_private_files_get_no_patch_and_details_are_masked() -> None:
    env = FileState("/opt/app/.env", "file", "600", "root", "root", 9, "1.0", sha256="a", content=b"TOKEN=a\n")
    changed = replace(env, sha256="b", content=b"TOKEN=b\n")
    [change] = compare(snap(files={env.path: env}), snap(files={env.path: changed})).changes
    assert change.patch == ""
    assert change.detail == "+1 -1 lines (not shown: others may not read it)"
    key = replace(CONF, content=b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", sha256="k")
    [change] = compare(snap(), snap(files={CONF.path: key})).changes
    assert change.patch == ""
    users = {"app": "999:999:token s3cret-value:/opt/app:/usr/sbin/nologin"}
    [change] = compare(snap(), snap(users=users), masker(["s3cret-value"])).changes
    assert "s3cret-value" not in change.detail and "token ********" in change.detail


def test_new_neighbours_of_watched_files_are_added_entries() -> None:
    before = snap(listed=frozenset({CONF.path}))
    after = snap(listed=frozenset({CONF.path, "/etc/app/app.conf.1"}))
    assert kinds(before, after) == [("file", "/etc/app/app.conf.1", "added")]
    assert kinds(after, before) == [("file", "/etc/app/app.conf.1", "removed")]


def test_mode_and_owner_are_metadata_changes() -> None:
    changed = replace(CONF, mode="600", owner="app")
    [change] = compare(snap(), snap(files={CONF.path: changed})).changes
    assert (change.kind, change.detail) == ("metadata", "mode 644 -> 600, owner root -> app")


def test_same_content_with_a_new_mtime_is_a_rewrite_finding() -> None:
    diff = compare(snap(), snap(files={CONF.path: replace(CONF, mtime="300.0")}))
    [finding] = diff.findings
    assert finding.kind == "rewritten"
    assert diff.state_changes == []


def test_a_directory_whose_mtime_moved_is_not_a_finding() -> None:
    folder = FileState("/etc/app", "dir", "755", "root", "root", 4096, "1.0")
    assert compare(snap(files={folder.path: folder}), snap(files={folder.path: replace(folder, mtime="2.0")})) == (
        compare(snap(), snap())
    )


def test_added_removed_and_replaced_files() -> None:
    link = FileState("/usr/local/bin/app", "symlink", "777", "root", "root", 20, "1.0", target="/opt/app/run")
    file = replace(link, type="file", target="", sha256="c", content=b"#!/bin/sh\n")
    assert kinds(snap(files={}), snap()) == [("file", CONF.path, "added")]
    assert kinds(snap(), snap(files={})) == [("file", CONF.path, "removed")]
    assert kinds(snap(files={link.path: link}), snap(files={link.path: file})) == [("file", link.path, "type")]
    moved = replace(link, target="/opt/app/run2")
    [change] = compare(snap(files={link.path: link}), snap(files={link.path: moved})).changes
    assert (change.kind, change.detail) == ("content", "link /opt/app/run -> /opt/app/run2")


def test_a_new_file_gets_a_patch_from_dev_null() -> None:
    [change] = compare(snap(files={}), snap()).changes
    assert change.patch.startswith("--- /dev/null\n+++ web1:/etc/app/app.conf")


def test_binary_content_is_compared_by_digest_without_a_patch() -> None:
    blob = replace(CONF, content=b"\0\1\2", sha256="x", size=3)
    [change] = compare(snap(files={CONF.path: blob}), snap(files={CONF.path: replace(blob, sha256="y")})).changes
    assert (change.kind, change.patch) == ("content", "")
    assert change.detail.startswith("binary or large")


def test_a_restarted_unit_is_a_finding_a_stopped_one_a_change() -> None:
    restarted = replace(UNIT, main_pid="77", invocation="inv-2")
    stopped = replace(UNIT, active="inactive", sub="dead", main_pid="0")
    disabled = replace(UNIT, enabled="disabled")
    assert kinds(snap(), snap(units={UNIT.name: restarted})) == [("unit", UNIT.name, "restarted")]
    assert compare(snap(), snap(units={UNIT.name: stopped})).changes[0].detail == "active active -> inactive"
    assert kinds(snap(), snap(units={UNIT.name: disabled})) == [("unit", UNIT.name, "state")]
    assert kinds(snap(), snap(units={})) == [("unit", UNIT.name, "removed")]


def test_packages_installed_upgraded_removed_and_reinstalled() -> None:
    nut = Package("nut", "ii ", "2.8.0-7", "5.0")
    htop = Package("htop", "ii ", "3.2.2-2", "6.0")
    assert kinds(snap(), snap(packages={"nut": nut, "htop": htop})) == [("package", "htop", "installed")]
    assert kinds(snap(), snap(packages={})) == [("package", "nut", "removed")]
    assert kinds(snap(), snap(packages={"nut": replace(nut, version="2.8.1-1")})) == [("package", "nut", "upgraded")]
    assert kinds(snap(), snap(packages={"nut": replace(nut, list_mtime="9.0")})) == [("package", "nut", "reinstalled")]
    # removed but with its configuration left ("rc") counts as removed
    assert kinds(snap(), snap(packages={"nut": replace(nut, status="rc ")})) == [("package", "nut", "removed")]
    # dpkg's version order: 2.8.0-7 -> 2.8.0~rc1 is a downgrade
    assert kinds(snap(), snap(packages={"nut": replace(nut, version="2.8.0~rc1")})) == [
        ("package", "nut", "downgraded")
    ]
    # a hold, or a package left half-configured, is a change of state
    [held] = compare(snap(), snap(packages={"nut": replace(nut, status="hi ")})).changes
    assert (held.kind, held.detail) == ("state", "status ii -> hi")
    assert kinds(snap(), snap(packages={"nut": replace(nut, status="iF ")})) == [("package", "nut", "state")]


def test_a_cron_entry_added_twice_is_counted() -> None:
    twice = {"/etc/cron.d/app": ("*/5 * * * * root /bin/true", "*/5 * * * * root /bin/true")}
    assert kinds(snap(), snap(cron=twice)) == [("cron", "/etc/cron.d/app", "added")]
    assert kinds(snap(), snap(cron={})) == [("cron", "/etc/cron.d/app", "removed")]


def test_users_groups_and_sysctl_keys() -> None:
    after = snap(users={}, groups={"app": "999:alice"}, sysctl={"vm.swappiness": "10", "net.ipv4.ip_forward": "1"})
    assert kinds(snap(), after) == [
        ("user", "app", "removed"),
        ("group", "app", "value"),
        ("sysctl", "net.ipv4.ip_forward", "added"),
        ("sysctl", "vm.swappiness", "value"),
    ]


def test_the_stat_reads_like_git_diff_stat() -> None:
    after = snap(files={CONF.path: replace(CONF, mode="600")}, units={UNIT.name: replace(UNIT, invocation="inv-2")})
    assert compare(snap(), after).stat().splitlines() == [
        "web1: 1 change, 1 finding",
        " M file /etc/app/app.conf | metadata: mode 644 -> 600",
        " ! unit app.service       | restarted: active again: new invocation",
    ]


def test_the_diff_is_available_as_data() -> None:
    data = compare(snap(), snap(files={CONF.path: replace(CONF, mode="600")})).to_data()
    assert data == [
        {
            "machine": "web1",
            "section": "file",
            "item": "/etc/app/app.conf",
            "kind": "metadata",
            "detail": "mode 644 -> 600",
            "patch": "",
            "finding": False,
        }
    ]
