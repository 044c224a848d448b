import pytest

from harness.engine.client import connect
from harness.errors import EngineUnavailable


def test_no_engine_is_one_line_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable) as raised:
        connect.__wrapped__()
    message = str(raised.value)
    assert message.startswith("no Docker engine answers at unix:///nonexistent/docker.sock")
    assert "fix: start one with `make engine`" in message
