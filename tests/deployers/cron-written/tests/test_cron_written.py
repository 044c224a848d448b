def test_the_right_cron_file_is_there(host):
    assert host.file("/etc/cron.d/cron-written-ok").mode == 0o644
