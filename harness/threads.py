"""A call run in a daemon thread, whose result (or error) is taken later: a run that is interrupted does not
wait for it, and whatever it made is left to the cleanup that follows (the drift step's, the run's sweep)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class DaemonCall(Generic[T]):
    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name=name, daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._result = call()
        except BaseException as exc:  # raised where the result is taken
            self._error = exc

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def result(self) -> T:
        """Its result, once it has one; what it raised, raised here."""
        while self._thread.is_alive():
            self._thread.join(0.2)  # in short waits: the caller's Ctrl-C is not held up
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set when the call returned


class Turns:
    """At most ``count()`` holders at once, in the order they ask. The count is asked at the first turn (it may
    take a word with the engine), once."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count
        self._made = threading.Lock()
        self._turns: threading.Semaphore | None = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        with self._made:
            if self._turns is None:
                self._turns = threading.Semaphore(max(1, self._count()))
        with self._turns:
            yield
