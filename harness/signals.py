"""SIGTERM and SIGHUP (a cancelled CI job, `timeout`, a closed terminal) end a run as Ctrl-C does: pytest's
teardown runs, the run's machines, networks, volumes and work folder (its SSH keys) are removed, and a child
process (the deployer's testinfra run) is stopped with it. Only the first one is turned into an interrupt: the
cleanup it starts is not cut short by the next (SIGKILL is the way to insist). Handlers someone else installed are
left alone."""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOPPING = ("SIGTERM", "SIGHUP")


class StopSignals:
    def __init__(self) -> None:
        self.previous: dict[signal.Signals, signal.Handlers | object] = {}
        self.received: str | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
            return
        for name in STOPPING:
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) == signal.SIG_DFL:
                self.previous[number] = signal.signal(number, self._interrupt)

    def _interrupt(self, number: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signal.Signals(number).name
        raise KeyboardInterrupt(self.received)

    def uninstall(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self.previous.clear()
