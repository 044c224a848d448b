"""When the deployer's own work ran during a pytest run of the harness: its pods (the engine's start and die events of
each) and its tests (the verify steps, placed on the run's clock by each step's `at` in the JUnit timeline). The
rest of the run's wall time is the harness's own."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.engine.labels import ROLE
from harness.workbench import Workbench

REPO = Path(__file__).resolve().parent.parent
Properties = list[tuple[str, str]]  # a JUnit test case's, in order


class PodTimes:
    """The engine's events for the harness's pods while the block runs: when each started and when it died (and
    any other span of the deployer's own work added to :attr:`spans`)."""

    def __init__(self, bench: Workbench) -> None:
        self.client = bench.client
        self.spans: list[tuple[float, float]] = []
        self._started: dict[str, float] = {}

    def __enter__(self) -> PodTimes:
        filters = {"label": [f"{ROLE}=pod"], "type": ["container"], "event": ["start", "die"]}
        self._stream = self.client.events(decode=True, filters=filters)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1.0)  # the last events
        self._stream.close()
        self._reader.join(5)

    def _read(self) -> None:
        try:
            for event in self._stream:
                at, container = event["timeNano"] / 1e9, event["id"]
                if event["status"] == "start":
                    self._started[container] = at
                elif container in self._started:
                    self.spans.append((self._started.pop(container), at))
        except Exception:  # the stream closed under the reader
            return

    @property
    def count(self) -> int:
        return len(self.spans)

    def covered(self, start: float, end: float) -> float:
        """Seconds between start and end when at least one pod was running."""
        total, reach = 0.0, start
        for first, last in sorted(self.spans):
            first, last = max(first, reach), min(last, end)
            if last > first:
                total += last - first
                reach = last
        return total


def verify_spans(properties: list[tuple[str, str]]) -> list[tuple[float, float]]:
    """The verify steps of one JUnit test case (its properties), as spans of the run's clock."""
    spans: list[tuple[float, float]] = []
    for name, value in properties:
        if name == "steps_data":
            steps = json.loads(value)
            spans += [(s["at"], s["at"] + s["seconds"]) for s in steps if s["step"] == "verify"]
    return spans


@dataclass
class TimedRun:
    """One pytest run of the harness, timed against its deployer's own work."""

    wall_s: float
    deployer_running_s: float  # of the wall time, when the deployer's pods or its tests ran
    harness_share: float  # of the wall time, the rest
    pods: int
    pod_seconds: float  # what the deployer's pods ran, added up
    cases: list[Properties] = field(default_factory=list)  # each JUnit test case's properties


def timed_pytest(bench: Workbench, arguments: list[str]) -> TimedRun:
    """``pytest ARGUMENTS`` in the repository, with JUnit, while the engine's pod events are read. Nothing else may
    run pods meanwhile. A failed run ends the benchmark, with the end of its output."""
    with tempfile.TemporaryDirectory() as folder:
        junit = Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", *arguments, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
        with PodTimes(bench) as pods:
            begun, started = time.perf_counter(), time.time()
            result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            wall, ended = time.perf_counter() - begun, time.time()
        if result.returncode != 0:
            print(result.stdout[-4000:], file=sys.stderr)
            raise SystemExit(f"pytest {' '.join(arguments)} failed")
        cases = [
            [(p.get("name", ""), p.get("value", "")) for p in c.iter("property")]
            for c in ET.parse(junit).iter("testcase")
        ]
    count, pod_seconds = pods.count, sum(last - first for first, last in pods.spans)
    for properties in cases:
        pods.spans += verify_spans(properties)
    running = pods.covered(started, ended)
    return TimedRun(wall, running, 1 - running / (ended - started), count, pod_seconds, cases)
