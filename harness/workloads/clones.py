"""Clones of a workload's converged machines: the drift suite's extra lanes.

The machines are committed once, converged and with the drift suite's backup of their managed files inside, and
every clone set starts from those images on an internal network of its own: the same names and aliases, new
addresses, which the workload maps the manifest's addresses to as it does for the originals. A clone is put back
as the suite puts back a machine (its files, then its units' states: a service started but not enabled does not
come back by booting) and must then look exactly as it converged, or it is refused.
"""

from __future__ import annotations

import contextlib
import threading

import docker.errors

from harness.drift.strategies import Converged
from harness.drift.suite import DriftStrategy, restore
from harness.errors import HarnessError
from harness.state.tracker import StateTracker
from harness.testbed import Testbed
from harness.workloads.base import Workload


class WorkloadClones:
    def __init__(self, workload: Workload, testbed: Testbed, converged: Converged) -> None:
        self.workload, self.testbed, self.converged = workload, testbed, converged
        self.images: dict[str, str] = {}
        self.testbeds: list[Testbed] = []
        self._lock = threading.Lock()

    def freeze(self) -> None:
        self.images = self.testbed.commit()

    def lane(self) -> DriftStrategy:
        spec = self.workload.spec
        clone = Testbed(self.testbed.bench, f"{spec.name}-clone", keep=self.testbed.keep, key=self.testbed.key)
        with self._lock:
            self.testbeds.append(clone)
        clone.start(spec.machines, mirror=spec.mirror, images=self.images)
        moved = self.workload.moved_to(clone)
        tracker = StateTracker(clone.runners(), spec.state, self.converged.tracker.mask)
        run = moved.drift_strategy(
            Converged(tracker, self.converged.snapshots, self.converged.watches, self.converged.current)
        )
        for machine, snapshot in self.converged.snapshots.items():
            still = restore(run, machine, snapshot)
            if still:
                raise HarnessError(run.mask(f"a clone of {machine} does not start as it converged: {'; '.join(still)}"))
        return run

    def close(self) -> None:
        """The clones, then the images they started from (kept with ``--keep``, as the machines are)."""
        for testbed in self.testbeds:
            testbed.close()
        if not self.testbed.keep:
            for image in self.images.values():
                with contextlib.suppress(docker.errors.APIError):
                    self.testbed.bench.client.images.remove(image, force=True)
