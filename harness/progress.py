"""Where long work is, for the people watching a run: `pve-nut / drift: drift 12/58 mutations (1m40s)`.

Work says where it is with :func:`report` inside a :func:`scope` (a scenario's run); a line goes out at most every
``EVERY`` seconds a scope, so short scenarios print nothing. Each process appends its lines to a file of its own
in the run's progress folder (not through ``logging``, whose records pytest would capture into the items' reports),
and the controller prints what they write (:class:`ProgressRelay`). Under ``-q`` nothing is written. Only the
harness's own words go out (names, steps, counts): nothing a deployer printed, so no secret.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

EVERY = 10.0  # seconds between two lines of one scope
RELAY_POLL = 1.0

_local = threading.local()
_every = EVERY
_sink: TextIO | None = None  # this process's file in the progress folder; None: nowhere
_sink_lock = threading.Lock()


class _Scope:
    def __init__(self, label: str, every: float) -> None:
        self.label, self.every = label, every
        self.started = self.last = time.monotonic()
        self.lock = threading.Lock()

    def report(self, where: str) -> None:
        now = time.monotonic()
        with self.lock:
            if now - self.last < self.every:
                return
            self.last = now
        say(f"{self.label}: {where} ({_elapsed(now - self.started)})")


@contextlib.contextmanager
def scope(label: str, every: float | None = None) -> Iterator[None]:
    """Work in this thread reports under ``label`` until the block ends."""
    outer = getattr(_local, "scope", None)
    _local.scope = _Scope(label, _every if every is None else every)
    try:
        yield
    finally:
        _local.scope = outer


def reporter() -> Callable[[str], None]:
    """This thread's scope's :func:`report`, for threads the work starts (a drift matrix's lanes)."""
    current: _Scope | None = getattr(_local, "scope", None)
    return current.report if current is not None else _nowhere


def report(where: str) -> None:
    """Say where the work is; printed if the scope has been quiet for ``EVERY`` seconds."""
    reporter()(where)


def say(line: str) -> None:
    """A line at once, whatever the scope (an image build started in a test)."""
    with _sink_lock:
        if _sink is not None:
            _sink.write(line.replace("\n", " ") + "\n")
            _sink.flush()


def _nowhere(where: str) -> None:
    return None


def _elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def write_to(folder: Path, name: str, every: float = EVERY) -> None:
    """This process's lines go to ``folder/name.log`` from now on, a scope's at most every ``every`` seconds."""
    global _sink, _every
    _every = every
    folder.mkdir(parents=True, exist_ok=True)
    stop_writing()
    with _sink_lock:
        _sink = (folder / f"{name}.log").open("a", encoding="utf-8")


def stop_writing() -> None:
    global _sink
    with _sink_lock:
        if _sink is not None:
            _sink.close()
        _sink = None


class ProgressRelay:
    """The controller's: prints every whole line the processes of the run write to the progress folder."""

    def __init__(self, folder: Path, write: Callable[[str], None], poll: float = RELAY_POLL) -> None:
        self.folder, self.write, self.poll = folder, write, poll
        self._read: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-relay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Print what is left, and stop."""
        self._stop.set()
        self._thread.join(self.poll * 5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            self.drain()
        self.drain()

    def drain(self) -> None:
        for path in sorted(self.folder.glob("*.log")):
            try:
                with path.open("rb") as log:
                    log.seek(self._read.get(path, 0))
                    data = log.read()
            except OSError:
                continue
            whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next look
            self._read[path] = self._read.get(path, 0) + len(whole)
            for line in whole.decode(errors="replace").splitlines():
                self.write(line)
