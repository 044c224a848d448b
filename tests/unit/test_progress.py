"""Progress lines: at most one a scope every so often, nothing outside a scope, whole lines relayed."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from types import SimpleNamespace

from harness import progress
from harness.progress_hooks import ProgressTerminal


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


def test_a_progress_line_starts_a_line_of_its_own_after_what_pytest_wrote() -> None:
    out = io.StringIO()
    terminal = ProgressTerminal(out)
    tw = SimpleNamespace(width_of_current_line=0)
    write = terminal.writer(SimpleNamespace(_tw=tw))
    write("a")  # nothing on the line
    tw.width_of_current_line = 3
    terminal.pytest_wrote()  # `...` of xdist
    write("b")
    write("c")  # pytest wrote nothing since: the writer's width is stale, no blank line
    terminal.pytest_wrote()  # a new line of dots, as wide as the last
    write("d")
    assert out.getvalue() == "a\n\nb\nc\n\nd\n"
    terminal.close()
    write("e")  # the relay's last lines after the end: dropped, no error
    assert out.closed
