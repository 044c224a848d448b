"""A run's `-m` expression, read before collection: a selection of offline scenarios alone (`-m lint`) needs no
machine, so no image is built and the engine is not probed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.deployer.spec import load_spec
from harness.selection import needs_machines

REPO = Path(__file__).resolve().parents[2]
KINDS = ["pve-8", "debian-12", "k8s-node", "world", "mirror"]


@pytest.mark.parametrize(
    ("markexpr", "needed"),
    [
        ("", True),
        ("lint", False),
        ("lint and not converge", False),
        ("lint or converge", True),
        ("not lint", True),
        ("drift", True),
        ("placement", False),  # a DaemonSet's scenario: none of pve-nut's runs
        ("lint or (", True),  # pytest says what is wrong; the run prepares as usual
    ],
)
def test_only_a_selection_of_offline_scenarios_needs_no_machine(markexpr: str, needed: bool) -> None:
    spec = load_spec(REPO / "deployers" / "pve-nut", KINDS)
    config = SimpleNamespace(option=SimpleNamespace(markexpr=markexpr))
    assert needs_machines(config, spec) is needed  # type: ignore[arg-type]


def test_lint_runs_with_no_engine_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.checks.report import ScenarioLog
    from harness.scenario.model import scenarios_for
    from harness.session import RunSession

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # any call to an engine fails
    spec = load_spec(REPO / "deployers" / "pve-nut", KINDS)
    scenarios = scenarios_for(spec.folder)
    lint = next(s for s in scenarios if s.name == "lint")
    log = ScenarioLog()
    RunSession().run_scenario(spec, lint, log, to_come=tuple(s for s in scenarios if s is not lint))
    assert dict(log.properties)["lint"].startswith("9 file(s): 0 failing")
