"""SIGTERM and SIGHUP (a cancelled CI job, `timeout`, a closed terminal) end a run as Ctrl-C does: pytest's
teardown runs, the run's machines, networks, volumes and work folder (its SSH keys) are removed, and a child
process (the deployer's testinfra run) is stopped with it. Only the first one is turned into an interrupt, and none
once the run cleans up (after Ctrl-C, or at its end): the cleanup is not cut short (SIGKILL is the way to
insist). Handlers someone else installed are left alone, and so is a signal the run was started ignoring
(nohup): whoever started it wants it to go on."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

STOPPING = ("SIGTERM", "SIGHUP")
_INSTALLED: list[StopSignals] = []  # Ctrl-C is pytest's: its hook holds these (see :func:`hold_all`)


def drop_lineless_frames(error: BaseException) -> None:
    """An interrupt lands between two instructions, and CPython may then record a frame without a line number
    (``tb_lineno`` None), which pytest cannot print: its report of the interrupt crashes instead of the run
    cleaning up. Such frames are taken out of the traceback of the error and of the errors chained to it."""
    seen: set[int] = set()
    pending: BaseException | None = error
    while pending is not None and id(pending) not in seen:
        seen.add(id(pending))
        tb = pending.__traceback__
        while tb is not None and tb.tb_lineno is None:  # at the head: the error keeps the rest
            tb = tb.tb_next
        pending.__traceback__ = tb
        while tb is not None:
            following: TracebackType | None = tb.tb_next
            while following is not None and following.tb_lineno is None:
                following = following.tb_next
            tb.tb_next = following
            tb = following
        pending = pending.__cause__ or pending.__context__


def hold_all() -> None:
    """Ctrl-C came: the installed handlers wait for the cleanup it starts."""
    for installed in _INSTALLED:
        installed.hold()


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
        if self.previous:
            _INSTALLED.append(self)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # Ctrl-C stays pytest's, and holds
                self.previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._ctrl_c)

    def hold(self) -> None:
        """The run is cleaning up (after Ctrl-C, or at its end): from now on these signals wait for it."""
        if self.received is None:
            self.received = "cleanup"

    def _ctrl_c(self, number: int, frame: FrameType | None) -> None:
        self.hold()
        signal.default_int_handler(number, frame)

    def _interrupt(self, number: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signal.Signals(number).name
        raise KeyboardInterrupt(self.received)

    def uninstall(self) -> None:
        for number, handler in self.previous.items():
            if signal.getsignal(number) in (self._interrupt, self._ctrl_c):  # one set since then is not ours
                signal.signal(number, handler)  # type: ignore[arg-type]
        self.previous.clear()
        if self in _INSTALLED:
            _INSTALLED.remove(self)
