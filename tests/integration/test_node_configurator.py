"""The reference node configurator, through the plugin: every DaemonSet scenario on the simulated cluster."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def harness(*args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "--deployer", "node-configurator", "-p", "no:cacheprovider", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def test_node_configurator_passes_every_scenario_on_the_simulated_cluster() -> None:
    code, output = harness("-n", "2", "--drift=full")
    assert code == 0, output
    assert "7 passed" in output
    for scenario in ("lint", "converge", "idempotency", "placement", "rollout", "drift", "rollback"):
        assert f"node-configurator/harness.yaml::{scenario}" in output
    assert "untargeted: w3: unchanged" in output
    # drift: each distinct mutation on one targeted node in turn, repaired by the pods' loop, which logs it
    assert "drift: 18 mutations on 3 machines: 18 detected, 18 healed" in output
    for line in ("cp1: edit /etc/node-agent/agent.conf", "w1: stop node-agent.service", "w2: disable node-agent"):
        assert line in output
    assert not re.search(r"^\s+w3: (edit|delete|chmod|chown|stop|disable) ", output, re.MULTILINE)  # untargeted
    # rollback: the previous version from git, rolled out and back
    assert "rollback: 0 leftovers, 0 other differences" in output
    assert "cluster sim" in output


def test_the_kind_backend_skips_with_its_reason_where_kind_is_missing() -> None:
    if shutil.which("kind"):
        pytest.skip("kind is installed here: the skip path does not apply")
    code, output = harness("--cluster", "kind", "-rs")
    assert code == 0, output
    assert "1 passed, 7 skipped" in output  # lint passes; its six machine scenarios, and gitops (no Flux objects)
    assert "--cluster kind needs kind" in output
