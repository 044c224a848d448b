"""Post-state of the idem test deployers (run by the harness against web1)."""

from __future__ import annotations

from typing import Any


def test_config_and_secret_are_in_place(host: Any, secrets: dict[str, dict[str, str]]) -> None:
    token = secrets["idem-secrets"]["API_TOKEN"]
    assert f"token = {token}" in host.file("/etc/idem/app.conf").content_string
    env = host.file("/etc/idem/.env")
    assert env.mode == 0o600
    assert env.content_string == f"API_TOKEN={token}\n"


def test_service_runs_and_cron_entry_exists(host: Any) -> None:
    assert host.service("idem.service").is_running
    assert host.service("idem.service").is_enabled
    assert "idem-tick" in host.file("/etc/cron.d/idem").content_string
