"""Progress lines: at most one a scope every so often, nothing outside a scope, whole lines relayed."""

from __future__ import annotations

import threading
from pathlib import Path

from harness import progress


def lines_of(folder: Path) -> list[str]:
    return [line for path in sorted(folder.glob("*.log")) for line in path.read_text().splitlines()]


def test_a_scope_reports_at_most_every_so_often_and_nothing_outside_one(tmp_path: Path) -> None:
    progress.write_to(tmp_path, "gw0")
    try:
        progress.report("outside any scope")
        with progress.scope("pve-nut / drift", every=0.0):
            progress.report("drift 1/3 mutations")
            tick = progress.reporter()
            worker = threading.Thread(target=tick, args=("drift 2/3 mutations",))  # a lane's thread
            worker.start()
            worker.join()
        with progress.scope("pve-nut / converge", every=3600):
            progress.report("step 2/2: verify")  # the scope is younger than its interval: quiet
        progress.say("building deployer image pve-nut")
    finally:
        progress.stop_writing()
    assert lines_of(tmp_path) == [
        "pve-nut / drift: drift 1/3 mutations (0s)",
        "pve-nut / drift: drift 2/3 mutations (0s)",
        "building deployer image pve-nut",
    ]


def test_a_line_stays_one_line_and_stopping_ends_the_file(tmp_path: Path) -> None:
    progress.write_to(tmp_path, "gw1")
    progress.say("two\nlines")
    progress.stop_writing()
    progress.say("after the end")
    assert lines_of(tmp_path) == ["two lines"]


def test_the_relay_prints_whole_lines_once_in_order(tmp_path: Path) -> None:
    printed: list[str] = []
    relay = progress.ProgressRelay(tmp_path, printed.append)
    (tmp_path / "gw0.log").write_text("one\ntw")
    relay.drain()
    assert printed == ["one"]
    with (tmp_path / "gw0.log").open("a") as log:
        log.write("o\nthree\n")
    (tmp_path / "gw1.log").write_text("elsewhere\n")
    relay.drain()
    relay.drain()
    assert printed == ["one", "two", "three", "elsewhere"]
