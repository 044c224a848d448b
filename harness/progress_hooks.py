"""The pytest side of :mod:`harness.progress`: each process of the run writes its lines to the run's progress
folder (an xdist worker's file is named after it), and the controller prints them as they come. Registered only
when the run tests deployers and is not ``-q``.

The controller prints on a copy of the terminal's file descriptor taken before any test runs: without xdist the
tests run in the controller, and pytest's capture would otherwise take the lines into the running item's report."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from harness import PROJECT, progress

PROGRESS_INPUT = "deployer_harness_progress"
EVERY_INPUT = "deployer_harness_progress_every"


class ProgressHooks:
    def __init__(self, config: pytest.Config, workdir: Callable[[], Path], every: float = progress.EVERY) -> None:
        self.config, self.workdir, self.every = config, workdir, every
        self.writing = False
        self.relay: progress.ProgressRelay | None = None
        self.terminal: IO[str] | None = None if hasattr(config, "workerinput") else _terminal_copy()
        self._width_after = 0  # the terminal writer's line when the last progress line went out
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if workerinput is not None and PROGRESS_INPUT in workerinput:
            every = float(workerinput.get(EVERY_INPUT, every))
            progress.write_to(Path(workerinput[PROGRESS_INPUT]), str(workerinput["workerid"]), every)
            self.writing = True

    def folder(self) -> Path:
        return self.workdir() / "progress"

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[PROGRESS_INPUT] = str(self.folder())
        node.workerinput[EVERY_INPUT] = self.every

    @pytest.hookimpl(trylast=True)  # after the harness's own: the run's work folder exists then
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        folder = self.folder()
        progress.write_to(folder, "controller", self.every)  # without xdist, the tests run here
        self.writing = True
        self.relay = progress.ProgressRelay(folder, lambda line: self._print(reporter, line))
        self.relay.start()

    @pytest.hookimpl(tryfirst=True)  # before the reports and the summary
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        self.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close()

    def _print(self, reporter: Any, line: str) -> None:
        """On a line of its own: a new line first if pytest wrote on the current one since (the dots of xdist)."""
        if self.terminal is None:
            reporter.write_line(f"[{PROJECT}] {line}")
            return
        writer = getattr(reporter, "_tw", None)
        width = int(getattr(writer, "width_of_current_line", 0))
        lead = "\n" if width and width != self._width_after else ""
        self._width_after = width
        self.terminal.write(f"{lead}[{PROJECT}] {line}\n")
        self.terminal.flush()

    def close(self) -> None:
        if self.writing:
            progress.stop_writing()
            self.writing = False
        if self.terminal is not None:
            self.terminal.close()
            self.terminal = None


def _terminal_copy() -> IO[str] | None:
    """The terminal pytest writes to, on a descriptor of its own; None where stdout has none (an in-process run)."""
    try:
        sys.stdout.flush()
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
