def test_the_release_is_installed(host):
    tool = host.file("/usr/local/bin/tool")
    assert tool.mode == 0o755
    assert host.run("/usr/local/bin/tool").stdout == "tool 1.0\n"


def test_the_config_came_from_the_pod(host):
    assert host.file("/etc/tool.conf").content_string == "level = 3\n"
