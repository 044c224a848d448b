"""SIGTERM and SIGHUP end a run as Ctrl-C does, once; someone else's handler is left alone."""

from __future__ import annotations

import signal
import sys
import types
from collections.abc import Iterator

import pytest

from harness.signals import StopSignals, drop_lineless_frames, hold_all


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


def _interrupt_with_a_lineless_frame() -> KeyboardInterrupt:
    """A KeyboardInterrupt whose traceback has, in its middle, a frame recorded without a line number, as
    CPython records one when a signal lands between two instructions."""
    try:
        raise KeyboardInterrupt("SIGHUP")
    except KeyboardInterrupt as error:
        caught = error
    head = caught.__traceback__
    assert head is not None
    lineless = types.TracebackType(None, sys._getframe(), 1 << 20, -1)
    assert lineless.tb_lineno is None  # what CPython may hand pytest
    head.tb_next = lineless
    return caught


def test_a_frame_without_a_line_number_is_dropped_so_pytest_can_report_the_interrupt() -> None:
    error = _interrupt_with_a_lineless_frame()
    with pytest.raises(TypeError):  # pytest's own report of it, unmended
        pytest.ExceptionInfo.from_exception(error).getrepr()
    drop_lineless_frames(error)
    report = str(pytest.ExceptionInfo.from_exception(error).getrepr())
    assert "KeyboardInterrupt: SIGHUP" in report
    assert "_interrupt_with_a_lineless_frame" in report  # the frames with lines are kept


def test_a_chained_error_is_mended_too() -> None:
    cause = _interrupt_with_a_lineless_frame()
    try:
        raise RuntimeError("cleanup failed") from cause
    except RuntimeError as raised:
        error = raised
    drop_lineless_frames(error)
    assert "KeyboardInterrupt: SIGHUP" in str(pytest.ExceptionInfo.from_exception(error).getrepr())
