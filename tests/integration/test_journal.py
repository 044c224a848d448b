"""The journal of remote commands on real machines: each command a client's SSH sessions run, exactly, in order,
with its exit code; the harness's own commands left out; a cut after the Nth command drops the connection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import paramiko
import pytest

from harness.deployment import Deployment
from harness.hosts.journal import close_journal, open_journal, summary
from harness.hosts.machine import Machine
from harness.testbed import standalone_machine
from harness.workbench import Workbench


@pytest.fixture(scope="module")
def machine(bench: Workbench) -> Iterator[Machine]:
    with standalone_machine(bench, "debian-12", "journal") as started:
        yield started


def client(machine: Machine) -> paramiko.SSHClient:
    """A deployer's own connection, beside the harness's."""
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(machine.address, username="root", key_filename=str(machine.key.private_path), look_for_keys=False)
    return ssh


def run(ssh: paramiko.SSHClient, command: str, data: bytes = b"") -> tuple[int, bytes]:
    stdin, stdout, _ = ssh.exec_command(command)
    if data:
        stdin.write(data)
    stdin.channel.shutdown_write()
    return stdout.channel.recv_exit_status(), stdout.read()


def test_every_command_is_recorded_exactly_and_runs_as_without_the_journal(machine: Machine) -> None:
    open_journal(machine.run_script)
    ssh = client(machine)
    try:
        quoted = "printf '%s\\n' \"a 'quoted' $HOME\"\necho two lines"
        assert run(ssh, quoted) == (0, b"a 'quoted' /root\ntwo lines\n")
        assert run(ssh, "cat > /tmp/journal-input && wc -c < /tmp/journal-input", b"x" * 5000) == (0, b"5000\n")
        assert run(ssh, "exit 3")[0] == 3
        with ssh.open_sftp() as sftp:
            sftp.putfo(__import__("io").BytesIO(b"config\n"), "/tmp/journal-sftp.conf")
        machine.run_script("true")  # the harness's own command, over its own connection
    finally:
        ssh.close()
    commands = close_journal(machine.run_script, machine.own_client)
    assert [(c.number, c.kind, c.command, c.status) for c in commands] == [
        (1, "ssh", quoted, 0),
        (2, "ssh", "cat > /tmp/journal-input && wc -c < /tmp/journal-input", 0),
        (3, "ssh", "exit 3", 3),
        (4, "sftp", "/usr/lib/openssh/sftp-server", 0),
    ]
    assert len({c.client for c in commands}) == 1  # one connection, four sessions
    assert all(c.ended is not None and c.ended >= c.started for c in commands)
    assert summary(commands) == "4 commands (3 ssh, 1 sftp) over 1 connections"
    assert close_journal(machine.run_script, machine.own_client) == []  # closed: nothing more is recorded


def test_a_session_without_a_command_is_recorded_as_a_shell_reading_its_stdin(machine: Machine) -> None:
    """`ssh host <<EOF`: no command, a login shell reading the script. Its exit code and output are the shell's."""
    open_journal(machine.run_script)
    ssh = client(machine)
    try:
        transport = ssh.get_transport()
        assert transport is not None
        channel = transport.open_session()
        channel.invoke_shell()  # a shell request, no pty: as `ssh host <<EOF` makes
        channel.sendall(b"echo from-stdin > /tmp/journal-heredoc\nexit 4\n")
        channel.shutdown_write()
        status = channel.recv_exit_status()
    finally:
        ssh.close()
    commands = close_journal(machine.run_script, machine.own_client)
    assert status == 4
    assert machine.exec("cat /tmp/journal-heredoc")[1] == "from-stdin\n"
    assert [(c.kind, c.command, c.status) for c in commands] == [("shell", "", 4)]


def test_a_cut_after_the_nth_command_drops_the_connection_and_refuses_the_rest(machine: Machine) -> None:
    open_journal(machine.run_script, cut_after=2)
    ssh = client(machine)
    try:
        assert run(ssh, "echo one") == (0, b"one\n")
        assert run(ssh, "echo two") == (0, b"two\n")
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            status, _ = run(ssh, "echo three")
            assert status != 0  # the exit status of a dropped channel
            run(ssh, "echo four")  # the connection is gone
        later = client(machine)  # a new connection is refused too
        try:
            assert run(later, "echo five")[1] == b""
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            later.close()
    finally:
        ssh.close()
    commands = close_journal(machine.run_script, machine.own_client)
    assert [(c.command, c.cut) for c in commands[:3]] == [
        ("echo one", False),
        ("echo two", False),
        ("echo three", True),
    ]
    assert all(c.cut for c in commands[2:])
    assert machine.run_script("echo still here")[1] == b"still here\n"  # the harness's connection was not cut


def test_each_apply_of_a_job_reports_its_remote_commands(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    with Deployment(bench, test_spec("hello")) as deployment:
        result = deployment.apply()
        assert result.succeeded, result.describe()
        commands = deployment.history[-1].journal["web1"]
    assert len(commands) == 1 and commands[0].kind == "ssh" and commands[0].status == 0
    assert commands[0].command.startswith("install -d -m 0755 /etc/hello && printf")
    assert "t0ken-for-tests" in commands[0].command  # the secret is on the command line: the report masks it
    assert "t0ken-for-tests" not in commands[0].line(deployment.secrets.mask)


def test_a_session_that_outlives_its_journal_never_writes_into_the_next(machine: Machine) -> None:
    """A command still running when its apply's journal closed (its Job ended at a deadline, say) ends later: its
    end goes to its own journal, not to the next apply's record of the same number."""
    machine.exec("rm -f /tmp/journal-go")
    open_journal(machine.run_script)
    ssh = client(machine)
    try:
        _, straggler, _ = ssh.exec_command("while [ ! -e /tmp/journal-go ]; do sleep 0.1; done; exit 7")
        while machine.exec("test -e /run/harness/journal/1.start")[0] != 0:
            time.sleep(0.05)  # recorded, and running
        assert [c.status for c in close_journal(machine.run_script, machine.own_client)] == [None]
        open_journal(machine.run_script)
        assert run(ssh, "true")[0] == 0  # number 1 of the new journal, ended
        machine.exec("touch /tmp/journal-go")  # only now does the straggler end
        assert straggler.channel.recv_exit_status() == 7
    finally:
        ssh.close()
    commands = close_journal(machine.run_script, machine.own_client)
    assert [(c.number, c.command, c.status) for c in commands] == [(1, "true", 0)]
