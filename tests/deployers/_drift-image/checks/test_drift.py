"""Post-state of the drift test deployers."""


def test_the_managed_files(host):
    assert host.file("/etc/drift/app.conf").mode == 0o640
    assert host.file("/usr/local/bin/drift-run").linked_to == "/var/lib/drift/run.sh"


def test_the_service_runs(host):
    assert host.service("drift.service").is_running
