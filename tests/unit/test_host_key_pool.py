"""The pool of SSH host keys made ahead: begun before any machine starts, on CPU nothing else wants."""

from __future__ import annotations

import os
import threading
import time

from harness.hosts.host_keys import IDLE_NICENESS, HostKeyPool, idle_priority


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
    seen: list[int] = []

    def lowered() -> None:
        idle_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == [IDLE_NICENESS]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # the caller's own is untouched
