"""Progress on long work, in real runs: lines reach the terminal while the scenarios run (not at the end), under
each scenario's name, each on a line of its own, from xdist workers and from a run without them (whose tests run
where pytest captures their output); `-q` prints none."""

from __future__ import annotations

import re

import pytest
from pytest_runs import run

LINE = re.compile(
    r"^\[deployer-harness\] hello / (?P<scenario>drift|idempotency): (?P<where>.+) \((\d+m)?\d+s\)$", re.MULTILINE
)
SELECTION = ("--deployer", "hello", "-m", "drift or idempotency", "-o", "deployer_progress_every=0.5")


@pytest.mark.parametrize("workers", [["-n", "2"], ["-p", "no:xdist"]], ids=["xdist", "no-xdist"])
def test_long_work_says_where_it_is_while_it_runs(workers: list[str]) -> None:
    code, output = run(*SELECTION, *workers, "-rP")  # -rP: the passed items' captured output, if any, shows
    assert code == 0, output
    lines = list(LINE.finditer(output))
    assert {m["scenario"] for m in lines} == {"drift", "idempotency"}, output
    wheres = [m["where"] for m in lines]
    steps = [re.fullmatch(r"step (\d+)/(\d+): \S+", where) for where in wheres]
    assert any(step and 1 < int(step[1]) <= int(step[2]) for step in steps), wheres  # beyond the first step
    assert any(re.fullmatch(r"drift [1-4]/4 mutations", where) for where in wheres), wheres
    # while the run went on: the first line comes before the last result, which ends with the [100%] mark
    assert lines[0].start() < output.index("[100%]"), output
    assert "Captured stdout" not in output  # never taken into an item's report


def test_q_prints_no_progress() -> None:
    code, output = run(*SELECTION, "-n", "2", "-q")
    assert code == 0, output
    assert "[deployer-harness]" not in output and not LINE.search(output)
