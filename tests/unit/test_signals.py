"""SIGTERM and SIGHUP end a run as Ctrl-C does, once; someone else's handler is left alone."""

from __future__ import annotations

import signal

import pytest

from harness.signals import StopSignals, hold_all


def test_the_first_sigterm_is_an_interrupt_and_the_next_one_does_not_cut_the_cleanup_short() -> None:
    stops = StopSignals()
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        stops.install()
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # during the cleanup: nothing happens
        assert stops.received == "SIGTERM"
    finally:
        stops.uninstall()
        signal.signal(signal.SIGTERM, previous)
    assert signal.getsignal(signal.SIGTERM) == previous


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


def test_after_ctrl_c_a_sigterm_waits_for_the_cleanup() -> None:
    stops = StopSignals()
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        stops.install()
        hold_all()  # pytest's keyboard-interrupt hook: the cleanup has begun
        signal.raise_signal(signal.SIGTERM)  # nothing happens
        assert stops.received == "cleanup"
    finally:
        stops.uninstall()
        signal.signal(signal.SIGTERM, previous)


def test_ctrl_c_is_still_an_interrupt_and_holds_the_sigterm_that_follows() -> None:
    stops = StopSignals()
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        stops.install()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)  # the cleanup Ctrl-C began goes on
        assert stops.received == "cleanup"
    finally:
        stops.uninstall()
        signal.signal(signal.SIGTERM, previous)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
