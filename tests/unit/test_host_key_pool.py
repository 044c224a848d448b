"""The pool of SSH host keys made ahead: begun before any machine starts, on CPU nothing else wants."""

from __future__ import annotations

import contextlib
import os
import threading
import time

from harness.hosts.host_keys import IDLE_NICENESS, HostKeyPool


def test_priming_makes_sets_before_any_is_taken_and_each_set_goes_to_one_machine() -> None:
    pool = HostKeyPool(ready=2)
    assert pool.made == 0
    pool.prime()
    waited = time.monotonic() + 60
    while pool.made < 2 and time.monotonic() < waited:
        time.sleep(0.05)
    assert pool.made == 2
    first, second = pool.take(), pool.take()
    assert first.public != second.public
    assert set(first.public) == {"rsa", "ecdsa", "ed25519"}
    assert first.public["rsa"].startswith("ssh-rsa ") and first.public["ed25519"].startswith("ssh-ed25519 ")


def test_the_thread_making_keys_ahead_yields_its_cpu_and_only_it() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert before < IDLE_NICENESS, "run at a lower niceness than the pool's, or this proves nothing"
    pool = HostKeyPool(ready=3)
    others = set(threading.enumerate())  # another pool's thread may still be filling
    pool.prime()
    (filling,) = [t for t in threading.enumerate() if t.name == "host-keys" and t not in others]
    assert filling.native_id is not None
    seen: set[int] = set()
    while filling.is_alive():  # three sets: a few tenths of a second
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            seen.add(os.getpriority(os.PRIO_PROCESS, filling.native_id))
    assert IDLE_NICENESS in seen and pool.made == 3
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the caller's own is untouched
