"""The pytest side of :mod:`harness.progress`: each process of the run writes its lines to the run's progress
folder (an xdist worker's file is named after it), and the controller prints them as they come. Registered only
when the run tests deployers and is not ``-q``.

The controller prints on a copy of the terminal's file descriptor taken before any test runs: without xdist the
tests run in the controller, and pytest's capture would otherwise take the lines into the running item's report."""

from __future__ import annotations

import io
import os
import sys
import threading
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
        self.terminal = None if hasattr(config, "workerinput") else ProgressTerminal.copy()
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
        terminal = self.terminal
        write = terminal.writer(reporter) if terminal is not None else lambda line: reporter.write_line(line)
        self.relay = progress.ProgressRelay(folder, lambda line: write(f"[{PROJECT}] {line}"))
        self.relay.start()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        if self.terminal is not None:
            self.terminal.pytest_wrote()  # a test's path or name: the next progress line starts a new line

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.terminal is not None:
            self.terminal.pytest_wrote()  # a letter, or a line of -v

    @pytest.hookimpl(tryfirst=True)  # before the reports and the summary
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close()

    def close(self) -> None:
        if self.relay is not None:  # what is left is printed first
            self.relay.stop()
            self.relay = None
        if self.writing:
            progress.stop_writing()
            self.writing = False
        if self.terminal is not None:
            self.terminal.close()
            self.terminal = None


class ProgressTerminal:
    """The terminal pytest writes to, on a descriptor of its own, so that a line printed while a test runs is not
    taken by pytest's capture; each line on a line of its own, after whatever pytest wrote on the current one."""

    def __init__(self, out: IO[str]) -> None:
        self.out, self.lock = out, threading.Lock()
        self.wrote = False  # pytest wrote since the last progress line (and may be mid-line)

    @classmethod
    def copy(cls) -> ProgressTerminal | None:
        """None where stdout has no descriptor (an in-process run)."""
        try:
            sys.stdout.flush()
            return cls(os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace"))
        except (OSError, ValueError, io.UnsupportedOperation):
            return None

    def pytest_wrote(self) -> None:
        with self.lock:
            self.wrote = True

    def writer(self, reporter: Any) -> Callable[[str], None]:
        def write(line: str) -> None:
            tw = getattr(reporter, "_tw", None)
            mid_line = bool(getattr(tw, "width_of_current_line", 0))
            with self.lock:
                if self.out.closed:
                    return
                self.out.write(("\n" if mid_line and self.wrote else "") + line + "\n")
                self.out.flush()
                self.wrote = False

        return write

    def close(self) -> None:
        with self.lock:
            self.out.close()
