"""A fault that strikes when the deployer's log prints a line: the pods of a testbed followed as they run.

Each pod container of the testbed (init containers too) is followed from its start; the first line, of any of
them, that holds the text strikes the fault, once (a line counts as soon as the text is written, before it ends).
A follower ends with its container, when its pod ends. The log reaches the harness through the engine, a few
milliseconds after the deployer wrote it: the deployer goes on meanwhile, as it would on a real host whose disk
filled or whose link went while it printed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container

from harness.engine.labels import ROLE, SCOPE
from harness.threads import DaemonCall

POD_ROLE = "pod"
_LOST = (docker.errors.APIError, OSError, requests.exceptions.RequestException)


class LogTrigger:
    def __init__(self, client: docker.DockerClient, scope: str, text: str, strike: Callable[[], None]) -> None:
        self.client, self.scope, self.text, self._strike = client, scope, text, strike
        self.struck = False
        self.error: BaseException | None = None  # what the strike raised, in a follower's thread
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a strike in progress ends before stop() returns
        self._followed: set[str] = set()
        self._poller = DaemonCall(self._watch, "fault-log-watch")

    def stop(self) -> None:
        """The apply ended: no strike from now on (one in progress is waited for)."""
        with self._lock:
            self._stop.set()
        self._poller.result()
        if self.error is not None:
            raise self.error

    def _watch(self) -> None:
        filters = {"label": [f"{SCOPE}={self.scope}", f"{ROLE}={POD_ROLE}"]}
        while not self._stop.is_set() and not self.struck:
            try:
                containers = self.client.containers.list(all=True, filters=filters, ignore_removed=True)
            except _LOST:
                containers = []
            for container in containers:
                if container.id not in self._followed:
                    self._followed.add(container.id)
                    DaemonCall(functools.partial(self._follow, container), "fault-log-follow")
            self._stop.wait(0.05)

    def _follow(self, container: Container) -> None:
        try:
            while container.status == "created" and not self._stop.is_set():  # a stream of it would end at once
                self._stop.wait(0.01)
                container.reload()
            rest = b""
            for chunk in container.logs(stream=True, follow=True):
                # The line so far counts too: a progress meter's `\r` or a prompt may never end it.
                *lines, rest = (rest + chunk).split(b"\n")
                if any(self.text in line.decode(errors="replace") for line in (*lines, rest)):
                    self._fire()
                    return
                if self._stop.is_set():
                    return
        except _LOST:
            return  # removed while followed: its pod ended

    def _fire(self) -> None:
        with self._lock:
            if self.struck or self._stop.is_set():
                return
            self.struck = True
            try:
                self._strike()
            except BaseException as exc:  # said when the apply ends, not lost in this thread
                self.error = exc
