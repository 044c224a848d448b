"""Clones of a workload's converged machines: the drift suite's extra lanes.

The machines are committed once, converged and with the drift suite's backup of their managed files inside, and
every clone set starts from those images on an internal network of its own: the same names and aliases, new
addresses, which the workload maps the manifest's addresses to as it does for the originals. A clone that boots
unlike the converged machine is put back as the suite puts back a machine (its files, its kernel parameters, then
its units' states: a service started but not enabled does not come back by booting); then it takes rows. It is
applied to only when the suite asks for a proof (:meth:`WorkloadClones.prove`: a row it did not see healed before
any was): a deployer that writes the host's own address leaves a clone different, and every row it ran would differ
from the serial run's.
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
        self._lanes: dict[int, Testbed] = {}  # id of a lane -> the clones it runs on
        self._workloads: dict[int, Workload] = {}  # id of a clone testbed -> the workload moved onto it
        self._lock = threading.Lock()
        self._closed = False

    def freeze(self) -> None:
        self.images = self.testbed.commit()

    def lane(self) -> DriftStrategy:
        spec = self.workload.spec
        # Scratch machines: removed with the run even with --keep (the deployment's own machines are kept).
        clone = Testbed(self.testbed.bench, f"{spec.name}-clone", key=self.testbed.key)
        with self._lock:
            if self._closed:
                raise HarnessError("the drift suite is over: no more clones")
            self.testbeds.append(clone)
        originals = {name: machine.host_keys for name, machine in self.testbed.machines.items()}
        clone.start(spec.machines, mirror=spec.mirror, images=self.images, host_keys=originals, world=spec.world)
        moved = self.workload.moved_to(clone)
        with self._lock:
            closed = self._closed
            if not closed:
                self._workloads[id(clone)] = moved
        if closed:  # the suite ended while this clone booted
            clone.close()
            raise HarnessError("the drift suite is over: no more clones")
        tracker = StateTracker(clone.runners(), spec.state, self.converged.tracker.mask)
        start = self.converged
        run = moved.drift_strategy(Converged(tracker, start.snapshots, start.watches, start.current))
        for machine, snapshot in start.snapshots.items():
            still = run.compare(machine)  # booted from the commit, most clones are already as converged
            if still:
                still = restore(run, machine, snapshot)
            if still:
                raise HarnessError(run.mask(f"a clone of {machine} does not start as it converged: {'; '.join(still)}"))
        with self._lock:
            self._lanes[id(run)] = clone
        return run

    def prove(self, lane: DriftStrategy) -> list[str]:
        with self._lock:
            moved = self._workloads.get(id(self._lanes[id(lane)]))
        if moved is None:
            raise HarnessError("the drift suite is over: no more clones")
        applied = moved.apply(self.converged.current)
        if not applied.succeeded:
            return [f"the deployer's apply fails on a clone: {applied.summary()}"]
        return [
            f"an apply leaves a clone of {machine} unlike the machine converged: {'; '.join(still)}"
            for machine in self.converged.snapshots
            if (still := lane.compare(machine))
        ]

    def discard(self, lane: DriftStrategy) -> None:
        with self._lock:
            testbed = self._lanes.pop(id(lane), None)
            if testbed is not None:
                self.testbeds.remove(testbed)
        if testbed is not None:  # lane 0, the deployment's own machines, is not a clone's: it stays
            self._close(testbed)

    def close(self) -> None:
        """The clones, then the images they started from; one that cannot be removed stops none of the others
        (the run's sweep removes what is left)."""
        with self._lock:
            self._closed = True
            testbeds, self.testbeds = self.testbeds, []
        for testbed in testbeds:
            self._close(testbed)
        for image in self.images.values():
            with contextlib.suppress(docker.errors.APIError):
                self.testbed.bench.client.images.remove(image, force=True)

    def _close(self, testbed: Testbed) -> None:
        """The workload moved onto it (its pods' sandboxes), then its machines and network."""
        with self._lock:
            moved = self._workloads.pop(id(testbed), None)
        if moved is not None:
            with contextlib.suppress(HarnessError, docker.errors.APIError, OSError):
                moved.close()
        with contextlib.suppress(HarnessError, docker.errors.APIError, OSError):
            testbed.close()
