"""Where the run's secrets must not show: the finder (every form the masker knows, no short values, no public
keys), the window a file holding one is readable in (from the journal's commands), and the image's metadata and
the files it copies."""

from __future__ import annotations

import base64
from pathlib import Path

from harness.hosts.journal import RemoteCommand
from harness.hygiene.commands import on_command_lines, windows
from harness.hygiene.finder import SecretFinder
from harness.hygiene.image import in_copied_files, in_metadata

TOKEN = "tok-7f3a9c2e51d8"
FINDER = SecretFinder([TOKEN, "root", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbq host"])


def test_the_finder_knows_every_form_and_leaves_short_values_and_public_keys_out() -> None:
    assert FINDER.holds(f"curl -H 'Authorization: Bearer {TOKEN}'")
    assert FINDER.holds(base64.b64encode(TOKEN.encode()).decode())
    assert not FINDER.holds("ssh root@host true")  # `root`: too short to be a secret worth a finding
    assert not FINDER.holds("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbq host")  # a public key: handed out, not secret
    assert FINDER.mask(f"x {TOKEN} y") == "x ******** y"


def command(number: int, text: str, started: float, ended: float | None = None) -> RemoteCommand:
    return RemoteCommand(number, text, "192.0.2.1 40000", started, ended if ended is not None else started, 0)


def test_a_secret_on_an_ssh_command_line_is_found_and_an_sftp_session_is_not_a_command_line() -> None:
    commands = [command(1, f"printf '{TOKEN}' > /etc/x", 1.0), command(2, "/usr/lib/openssh/sftp-server", 2.0)]
    assert [c.number for c in on_command_lines(commands, FINDER)] == [1]


SECRET_FILE = {"/opt/app/.env"}


def found(*texts: str) -> list[tuple[str, int, int, float | None]]:
    commands = [command(n, text, float(n), n + 0.5) for n, text in enumerate(texts, 1)]
    opened, _ = windows(commands, SECRET_FILE)
    return [(w.path, w.written.number, w.closed.number, w.seconds) for w in opened]


def test_written_then_chmod_later_is_a_window_with_its_length() -> None:
    assert found("cat > /opt/app/.env", "chown root:root /opt/app/.env && chmod 600 /opt/app/.env") == [
        ("/opt/app/.env", 1, 2, 0.5)
    ]


def test_in_one_command_the_window_has_no_length_and_relative_paths_follow_cd() -> None:
    assert found("cd /opt/app && cat > .env <<EOF\nTOKEN=x\nEOF\nchmod 0600 .env") == [("/opt/app/.env", 1, 1, None)]
    assert found("tee /opt/app/.env >/dev/null; chmod go-rwx /opt/app/.env") == [("/opt/app/.env", 1, 1, None)]


def test_umask_or_install_with_a_mode_closes_the_window() -> None:
    assert found("umask 077; cat > /opt/app/.env", "chmod 600 /opt/app/.env") == []
    assert found("(umask 0077 && cat > /opt/app/.env)", "chmod 600 /opt/app/.env") == []
    assert found("install -m 600 /dev/stdin /opt/app/.env", "chmod 600 /opt/app/.env") == []
    assert found("umask u=rwx,go=; cat > /opt/app/.env", "chmod 600 /opt/app/.env") == []
    assert found("sudo install -m 600 /dev/null /opt/app/.env; cat >> /opt/app/.env", "chmod 600 /opt/app/.env") == []


def test_sudo_and_env_run_the_command_that_follows() -> None:
    assert found("sudo -u root tee /opt/app/.env >/dev/null", "sudo chmod 600 /opt/app/.env") == [
        ("/opt/app/.env", 1, 2, 0.5)
    ]
    assert found("env LC_ALL=C sh -c true > /opt/app/.env", "chmod 600 /opt/app/.env")[0][0] == "/opt/app/.env"


def test_no_chmod_no_window_and_other_files_or_stderr_redirects_are_not_writes() -> None:
    assert found("cat > /opt/app/.env") == []  # its mode at the end is what counts then (a readable file)
    assert found("cat > /opt/app/other", "chmod 600 /opt/app/other") == []  # holds no secret
    assert found("grep x /opt/app/.env 2>/dev/null", "chmod 600 /opt/app/.env") == []
    assert found("printf x 2>/opt/app/.env", "chmod 600 /opt/app/.env") == []  # `2>`: not the file's content
    assert found("echo 'a > /opt/app/.env'", "chmod 600 /opt/app/.env") == []  # a `>` inside quotes
    assert found('cat > "/opt/app/.env"', "chmod 600 /opt/app/.env")[0][0] == "/opt/app/.env"  # a quoted target


def test_the_image_history_configuration_and_copied_files(tmp_path: Path) -> None:
    history = [{"CreatedBy": f"|1 TOKEN={TOKEN} /bin/sh -c echo built"}, {"CreatedBy": "/bin/sh -c #(nop) COPY x"}]
    config = {"Env": [f"API_TOKEN={TOKEN}", "PATH=/usr/bin"], "Labels": {"a": "b"}}
    baked = in_metadata(history, config, FINDER)
    assert [(b.where, b.evidence) for b in baked] == [
        ("the image's history", "|1 TOKEN=******** /bin/sh -c echo built"),
        ("the image's Env", "API_TOKEN=********"),
    ]
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "token.env").write_text(f"TOKEN={TOKEN}\n")
    (tmp_path / "configs" / "plain.conf").write_text("x=1\n")
    (tmp_path / "secret.env").write_text(TOKEN)
    (tmp_path / ".dockerignore").write_text("secret.env\n")
    (tmp_path / "harness.yaml").write_text(f"secrets: {{s: {{API_TOKEN: {TOKEN}}}}}\n")  # the spec: skipped
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM base\nCOPY configs/ /app/configs/\nCOPY --from=build /x /x\nCOPY *.env /app/\nCOPY missing /app/\n"
        "COPY . /app/\n"
    )
    copied = in_copied_files(tmp_path, dockerfile, FINDER, {(tmp_path / "harness.yaml").resolve()})
    assert [(b.where, b.evidence) for b in copied] == [
        ("Dockerfile:2 COPY configs/", "configs/token.env holds a secret"),
        ("Dockerfile:6 COPY .", "configs/token.env holds a secret"),  # not the spec, nor the ignored secret.env
    ]


def test_dockerignore_is_read_as_docker_reads_it(tmp_path: Path) -> None:
    for name in ("configs/token.env", "configs/deep/b.env", "top.env"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(TOKEN)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM base\nCOPY . /app/\n")

    def copied(ignore: bytes) -> list[str]:
        (tmp_path / ".dockerignore").write_bytes(ignore)
        return sorted(b.evidence.split()[0] for b in in_copied_files(tmp_path, dockerfile, FINDER, set()))

    assert copied(b"*.env\n") == ["configs/deep/b.env", "configs/token.env"]  # `*` stays in its folder
    assert copied(b"**/*.env\n") == []
    assert copied(b"*\n!configs/\n") == ["configs/deep/b.env", "configs/token.env"]  # `!` takes a folder back
    assert copied(b"configs\n# comment \xe9\n") == ["top.env"]  # a folder whole; not UTF-8: still read


def test_a_file_private_before_the_apply_keeps_its_mode_when_rewritten_unless_removed_first() -> None:
    commands = [command(1, "cat > /opt/app/.env", 1.0, 1.5), command(2, "chmod 600 /opt/app/.env", 2.0, 2.5)]
    assert windows(commands, SECRET_FILE, frozenset(SECRET_FILE)) == ([], frozenset(SECRET_FILE))
    removed = [command(1, "rm -f /opt/app/.env && cat > /opt/app/.env", 1.0, 1.5), commands[1]]
    opened, private_after = windows(removed, SECRET_FILE, frozenset(SECRET_FILE))
    assert [w.path for w in opened] == ["/opt/app/.env"] and private_after == frozenset(SECRET_FILE)
    # what the first of two applies made private stays so for the second
    _, after_first = windows(commands, SECRET_FILE)
    assert windows(commands, SECRET_FILE, after_first)[0] == []


def test_only_values_under_secret_keys_and_no_public_material_are_looked_for() -> None:
    certificate = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUX\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    finder = SecretFinder(
        ["nutmonitor", "s3cr3t-pw-4411", certificate, key],
        {"nutmonitor": "NUT_USER", "s3cr3t-pw-4411": "NUT_PASSWORD", certificate: "ca.crt"},  # value -> its key
    )
    assert not finder.holds("MONITOR ups@localhost 1 nutmonitor x")  # a user name is no secret
    assert finder.holds("password = s3cr3t-pw-4411")
    assert not finder.holds(certificate)  # public
    assert not finder.holds("-----BEGIN OPENSSH PRIVATE KEY-----\nother\n")  # its armour line alone is no secret
    assert finder.holds(key)
