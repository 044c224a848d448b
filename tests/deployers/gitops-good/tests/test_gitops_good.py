from pathlib import Path

VERSION = (Path(__file__).parent.parent / "VERSION").read_text()


def test_the_host_runs_the_version_of_the_newest_commit(host):
    assert host.file("/etc/gitops-good/version").content_string == VERSION
