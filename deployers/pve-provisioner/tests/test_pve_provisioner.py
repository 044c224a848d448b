"""Post-deploy checks for pve-provisioner: the frigate VM as its provisioner leaves it (fixture: host)."""


def test_the_hookscript_is_in_local_snippets_and_executable(host):
    hook = host.file("/var/lib/vz/snippets/frigate-hook.sh")
    assert hook.is_file and (hook.mode, hook.user, hook.group) == (0o755, "root", "root")


def test_the_vm_has_its_hookscript_passthrough_and_args(host):
    config = dict(line.split(": ", 1) for line in host.check_output("qm config 108").splitlines())
    assert config["hookscript"] == "local:snippets/frigate-hook.sh"
    assert config["hostpci0"] == "0000:01:00.0,pcie=1"
    assert config["args"] == "-cpu host,+aes"
    assert config["name"] == "frigate" and config["memory"] == "4096"  # what was there stays


def test_the_vm_starts_through_its_hookscript_and_stops(host):
    host.run_expect([0], "qm start 108")
    try:
        assert host.check_output("qm status 108") == "status: running"
        assert "frigate-hook" in host.check_output("journalctl -t frigate-hook --no-pager -n 5 || true")
    finally:
        host.run_expect([0], "qm stop 108")
