"""Progress on long work, in a real run: each worker's lines reach the controller's terminal as the scenarios run
(not after), under a scenario's name; `-q` prints none."""

from __future__ import annotations

import re

from pytest_runs import run

LINE = re.compile(r"^\[deployer-harness\] hello / (?P<scenario>drift|idempotency): (?P<where>.+) \((?P<after>\d+)s\)$")


def progress_lines(output: str) -> list[re.Match[str]]:
    return [match for line in output.splitlines() if (match := LINE.match(line.lstrip(".")))]


def test_each_worker_says_where_its_scenario_is_and_q_silences_it() -> None:
    selection = ("--deployer", "hello", "-m", "drift or idempotency", "-n", "2", "-o", "deployer_progress_every=0.5")
    code, output = run(*selection)
    assert code == 0, output
    lines = progress_lines(output)
    assert {m["scenario"] for m in lines} == {"drift", "idempotency"}, output  # both workers' lines
    wheres = [m["where"] for m in lines]
    assert any(re.fullmatch(r"step [2-6]/6: \S+", where) for where in wheres), wheres
    assert any(re.fullmatch(r"drift [1-4]/4 mutations", where) for where in wheres), wheres
    # printed while the run went on: before the summary, never after it
    assert output.index(lines[-1].group(0)) < output.index("deployer-harness summary")
    code, quiet = run(*selection, "-q")
    assert code == 0, quiet
    assert "[deployer-harness]" not in quiet and progress_lines(quiet) == []
