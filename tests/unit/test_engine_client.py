from pathlib import Path

import pytest

from harness.engine.client import connect
from harness.errors import EngineUnavailable, HarnessError
from harness.hosts.machine import check_inotify_budget


def test_no_engine_is_one_line_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable) as raised:
        connect.__wrapped__()
    message = str(raised.value)
    assert message.startswith("no Docker engine answers at unix:///nonexistent/docker.sock")
    assert "fix: start one with `make engine`" in message


def test_too_many_machines_for_the_inotify_budget_is_a_clear_error(tmp_path: Path) -> None:
    limit = tmp_path / "max_user_instances"
    limit.write_text("128\n")
    check_inotify_budget(32, limit)  # 4 each: fits
    with pytest.raises(HarnessError) as raised:
        check_inotify_budget(50, limit)
    assert "50 machines need about 200 inotify instances, and this computer allows 128" in str(raised.value)
    assert "sysctl -w fs.inotify.max_user_instances=512" in str(raised.value)
