"""A deployment's faults: the scenario's list, struck in order by its `fault` steps, and undone by `heal`.

A fault for "after the Nth remote command" is armed for the next apply: the machine's journal holds the deployer's
Nth command at its end (the client waits for its exit status), a watcher sees it held, strikes, and lets it go on.
The deployer meets the fault exactly there, whatever its timing.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field

import docker.errors
from docker.models.networks import Network

from harness.errors import HarnessError
from harness.faults.kinds import KINDS
from harness.faults.log_trigger import LogTrigger
from harness.faults.spec import ALL, ONE, OUTAGE, FaultSpec
from harness.hosts.journal import HELD, JOURNAL
from harness.hosts.machine import Machine
from harness.state.diff import Change
from harness.testbed import Testbed
from harness.threads import DaemonCall
from harness.world.service import World

WORLD = "the world"  # what an outage struck


@dataclass
class Strike:
    spec: FaultSpec
    machines: list[Machine]
    struck: list[str] = field(default_factory=list)  # the machines it struck, by name

    @property
    def line(self) -> str:
        return f"{self.spec.kind} on {', '.join(self.struck) or 'no machine'}"

    def made(self, change: Change) -> bool:
        """Whether this fault made the change itself (sshd stopped), not the deployer."""
        return KINDS[self.spec.kind].own_change(change) and change.machine in self.struck


@dataclass(frozen=True)
class Settled:
    """What a fault armed for an apply did there."""

    line: str
    struck: bool


class Faults:
    def __init__(self, testbed: Testbed) -> None:
        self.testbed = testbed
        self.pending: list[FaultSpec] = []
        self.active: list[Strike] = []
        self.armed: Strike | None = None
        self.watchers: list[DaemonCall[bool]] = []
        self.log_trigger: LogTrigger | None = None  # the armed fault's, when a line of the log strikes it
        self.snapshots_before: int | None = None  # how many snapshots there were when the first fault came
        self.converged_snapshot: int | None = None  # its index
        self.history: list[Strike] = []  # every fault that struck in this scenario, healed or not

    def plan(self, faults: tuple[FaultSpec, ...]) -> None:
        self.pending = list(faults)

    def snapshot_taken(self, index: int, applied_ok: bool) -> None:
        """The first snapshot after a successful apply, before any fault: the converged host."""
        if self.converged_snapshot is None and applied_ok and self.snapshots_before is None:
            self.converged_snapshot = index

    def strike_next(self, snapshots: int) -> str:
        """The `fault` step: the next fault strikes now, or is armed for the next apply."""
        if not self.pending:
            raise HarnessError("a `fault` step has no fault left to strike", fix="add the fault to `faults:`")
        spec = self.pending.pop(0)
        if self.snapshots_before is None:
            self.snapshots_before = snapshots
        strike = Strike(spec, [] if spec.kind == OUTAGE else self._targets(spec))
        if not spec.armed:
            self._strike(strike)
            self.active.append(strike)
            return f"{spec.describe()}: struck" + (f" {', '.join(strike.struck)}" if spec.machine == ONE else "")
        self.armed = strike
        return f"{spec.describe()}: armed"

    def _strike(self, strike: Strike) -> None:
        """Every target of it, now: its machines, or the world."""
        spec = strike.spec
        if spec.kind == OUTAGE:
            world = self._world()
            strike.struck.append(WORLD)  # first: an outage half laid is still ended by `heal`
            world.outage(dict.fromkeys(spec.urls or world.spec.urls, spec.response))
            return
        for machine in strike.machines:
            KINDS[spec.kind].strike(machine, self.network, spec.path)
            strike.struck.append(machine.name)
        self.history.append(strike)

    def heal(self) -> list[str]:
        """Every fault undone, the last first; an armed one that never struck is dropped."""
        healed = []
        self.armed = None
        while self.active:
            strike = self.active.pop()
            if strike.spec.kind == OUTAGE and strike.struck:
                self._world().end_outage()
            for machine in strike.machines:
                if machine.name in strike.struck:
                    KINDS[strike.spec.kind].heal(machine, self.network, strike.spec.path)
            healed.append(strike.line)
        return healed

    def close(self) -> None:
        """Before the machines go: a paused one is let go (its removal would wait for it)."""
        for strike in self._struck():
            if strike.spec.kind == "pause":
                for machine in strike.machines:
                    with contextlib.suppress(docker.errors.APIError):
                        KINDS["pause"].heal(machine, self.network, None)

    def own_change(self, change: Change) -> bool:
        """Whether a fault that struck made this change itself (sshd stopped), not the deployer."""
        return any(s.made(change) for s in self._struck())

    @property
    def struck_machines(self) -> list[str]:
        """Every machine a fault struck in this scenario, healed or not."""
        return list(dict.fromkeys(name for strike in self.history for name in strike.struck))

    def made_by_any(self, change: Change) -> bool:
        """Whether a fault that struck in this scenario, healed or not, made this change itself."""
        return any(s.made(change) for s in self.history)

    def struck_now_everywhere_reachable(self) -> bool:
        """The last fault struck at once, and the harness still reaches every machine it struck (a snapshot of the
        host as the fault left it can be taken)."""
        last = self.active[-1] if self.active else None
        return last is not None and not last.spec.armed and all(self.reachable(m) for m in last.struck)

    def striking(self) -> bool:
        """Whether a fault struck and is not healed yet (the last apply met it)."""
        return bool(self._struck())

    def reachable(self, name: str) -> bool:
        """Whether the harness's SSH connection to the machine answers while the faults that struck it last."""
        return all(KINDS[s.spec.kind].ssh_works or name not in s.struck for s in self._struck())

    def engine_reaches(self, name: str) -> bool:
        """Whether the engine can still run a command in it (not paused, not stopped)."""
        return all(KINDS[s.spec.kind].engine_works or name not in s.struck for s in self._struck())

    def _struck(self) -> list[Strike]:
        armed = self.armed
        return [s for s in (*self.active, *([armed] if armed is not None else [])) if s.struck]

    def hold_after(self, name: str) -> int | None:
        """The remote command the armed fault waits for on this machine."""
        armed = self.armed
        if armed is None or all(m.name != name for m in armed.machines):
            return None
        return armed.spec.after_command

    def watch(self) -> None:
        """At the apply's start: a watcher per machine the armed fault waits on."""
        armed = self.armed
        if armed is None:
            return
        if armed.spec.after_log is not None:
            client, scope = self.testbed.bench.client, self.testbed.ownership.scope
            self.log_trigger = LogTrigger(client, scope, armed.spec.after_log, lambda: self._strike(armed))
            return
        for machine in armed.machines:
            self.watchers.append(DaemonCall(functools.partial(self._wait_and_strike, armed, machine), "fault-watcher"))

    def settle(self) -> Settled | None:
        """After the apply, its journal closed (which ends a watcher still waiting): what the armed fault did."""
        armed, self.armed = self.armed, None
        trigger, self.log_trigger = self.log_trigger, None
        try:
            for watcher in self.watchers:
                watcher.result()
            if trigger is not None:
                trigger.stop()
        finally:
            self.watchers = []
            if armed is not None and armed.struck:  # healed by `heal`, whatever went wrong after it struck
                self.active.append(armed)
        if armed is None:
            return None
        spec = armed.spec
        if not armed.struck:
            why = "'s log never printed that" if spec.after_log is not None else " ran fewer remote commands there"
            return Settled(f"{spec.describe()}: never struck (the deployer{why})", False)
        return Settled(f"{spec.describe()}: struck {', '.join(armed.struck)}", True)

    def _wait_and_strike(self, armed: Strike, machine: Machine) -> bool:
        held = f"{JOURNAL}/{HELD}"
        waited = machine.container.exec_run(
            ["sh", "-c", f"while [ ! -e {held} ] && [ -d {JOURNAL} ]; do sleep 0.05; done; [ -e {held} ]"]
        )
        if waited.exit_code != 0:
            return False  # the journal closed first: the deployer never ran that many commands here
        kind = KINDS[armed.spec.kind]
        armed.struck.append(machine.name)
        if armed.spec.kind == "pause":  # let the command go on, then freeze it before it can
            machine.exec(f"rm -f {held}")
            kind.strike(machine, self.network, armed.spec.path)
        else:
            kind.strike(machine, self.network, armed.spec.path)
            machine.exec(f"rm -f {held}")
        return True

    def _world(self) -> World:
        if self.testbed.world is None:
            raise HarnessError("an outage strikes the world, and the spec has none", fix="add `world.urls` to the spec")
        return self.testbed.world

    @property
    def network(self) -> Network:
        return self.testbed.network

    def _targets(self, spec: FaultSpec) -> list[Machine]:
        machines = self.testbed.machines
        if spec.machine == ALL:
            return list(machines.values())
        if spec.machine == ONE:
            return list(machines.values())[:1]
        if spec.machine not in machines:  # the plugin names it at collection; a library caller meets it here
            raise HarnessError(
                f"a fault names machine {spec.machine!r}, which this deployment has not",
                fix=f"use one of: {', '.join(machines)}, `one` or `all`",
            )
        return [machines[spec.machine]]
