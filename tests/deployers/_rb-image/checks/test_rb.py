"""Post-state of the rollback test deployers (run after the current version's apply)."""


def test_the_run_script_and_its_cron_entry(host):
    assert host.file("/opt/rb/bin/run.sh").mode == 0o755
    assert "/opt/rb/bin/run.sh" in host.file("/etc/cron.d/rb").content_string


def test_the_version_stamp(host):
    assert host.file("/opt/rb/VERSION").content_string.strip().isdigit()
