"""SIGTERM and SIGHUP end a run as Ctrl-C does, once; someone else's handler is left alone."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from harness.signals import StopSignals, hold_all


@pytest.fixture
def installed() -> Iterator[StopSignals]:
    """Handlers installed over a default SIGTERM, as a terminal starts a run; this process's own put back after."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stops = StopSignals()
    try:
        stops.install()
        yield stops
    finally:
        stops.uninstall()
        signal.signal(signal.SIGTERM, previous)


def test_the_first_sigterm_is_an_interrupt_and_the_next_one_does_not_cut_the_cleanup_short(
    installed: StopSignals,
) -> None:
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        signal.raise_signal(signal.SIGTERM)
    signal.raise_signal(signal.SIGTERM)  # during the cleanup: nothing happens
    assert installed.received == "SIGTERM"
    installed.uninstall()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # what it found


def test_a_handler_someone_else_installed_is_kept() -> None:
    def theirs(number: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGHUP, theirs)
    try:
        stops = StopSignals()
        stops.install()
        assert signal.getsignal(signal.SIGHUP) is theirs
        stops.uninstall()
        assert signal.getsignal(signal.SIGHUP) is theirs
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_after_ctrl_c_a_sigterm_waits_for_the_cleanup(installed: StopSignals) -> None:
    hold_all()  # pytest's keyboard-interrupt hook: the cleanup has begun
    signal.raise_signal(signal.SIGTERM)  # nothing happens
    assert installed.received == "cleanup"


def test_ctrl_c_is_still_an_interrupt_and_holds_the_sigterm_that_follows(installed: StopSignals) -> None:
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    signal.raise_signal(signal.SIGTERM)  # the cleanup Ctrl-C began goes on
    assert installed.received == "cleanup"
    installed.uninstall()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
