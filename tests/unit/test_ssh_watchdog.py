"""The SSH watchdog: a machine that answers nothing is cut off at its timeout; one that answers keepalives,
however silent its command, never is."""

from __future__ import annotations

import threading
import time

from harness.hosts.ssh_backend import _Watchdog


class Transport:
    def __init__(self, answers: bool) -> None:
        self.answers, self.closed = answers, threading.Event()

    def global_request(self, kind: str, wait: bool) -> None:
        if not self.answers:
            self.closed.wait()  # a paused machine: no reply until the connection is closed

    def is_active(self) -> bool:
        return not self.closed.is_set()

    def close(self) -> None:
        self.closed.set()


def test_a_machine_that_answers_nothing_is_cut_off_at_its_timeout() -> None:
    transport = Transport(answers=False)
    watchdog = _Watchdog(transport, 0.4)  # type: ignore[arg-type]
    assert transport.closed.wait(2)
    assert watchdog.stop() is True


def test_a_silent_command_on_a_machine_that_answers_keepalives_is_never_cut() -> None:
    transport = Transport(answers=True)
    watchdog = _Watchdog(transport, 0.4)  # type: ignore[arg-type]
    time.sleep(1.2)  # three timeouts without a byte of output
    assert watchdog.stop() is False
    assert not transport.closed.is_set()
