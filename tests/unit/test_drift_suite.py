"""The drift suite's control flow, run against a tiny in-memory host that understands only what the suite sends.

A mutation script here is a line or more of a toy protocol (``SET /a x``, ``CHMOD /a 600``, ``RM /a``, ``NOOP``,
``FAIL``); the suite's own scripts are recognised by their tar: ``tar -cpf`` saves the files, ``tar -xpf`` puts
them back.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from harness.drift.matrix import (
    DETECTED,
    MISSED,
    NO_CHECK,
    NOT_RUN_STUCK,
    NOTHING_CHANGED,
    UNNAMED,
    Check,
    DriftReport,
    Healing,
)
from harness.drift.mutations import Mutation
from harness.drift.naming import news, repeated
from harness.drift.suite import run_drift
from harness.errors import CheckBroken, HarnessError
from harness.state.model import FileState, Snapshot

Files = dict[str, tuple[str, str]]  # path -> (content, mode)
CONVERGED: Files = {"/a": ("alpha", "644"), "/b": ("beta", "600")}


class Host:
    """One machine: its files with content and mode, what it converged to, and every script it was sent."""

    def __init__(self, files: Files) -> None:
        self.files = dict(files)
        self.converged = dict(files)
        self.saved: Files | None = None
        self.scripts: list[str] = []
        self.restore_works = True

    def run(self, script: str) -> tuple[int, bytes, bytes]:
        self.scripts.append(script)
        if "tar -cpf" in script:
            self.saved = dict(self.files)
        elif "tar -xpf" in script:
            assert self.saved is not None, "put back before anything was saved"
            if self.restore_works:
                self.files = dict(self.saved)
        else:
            for line in script.splitlines():
                verb, *args = line.split()
                if verb == "SET":
                    path, content = args
                    self.files[path] = (content, self.files.get(path, ("", "644"))[1])
                elif verb == "CHMOD":
                    path, mode = args
                    self.files[path] = (self.files[path][0], mode)
                elif verb == "RM":
                    del self.files[args[0]]
                elif verb == "FAIL":
                    return 1, b"", b"permission denied"
                elif verb != "NOOP":
                    raise ValueError(f"the fake host does not understand {line!r}")
        return 0, b"", b""

    def differences(self) -> list[str]:
        lines = []
        for path, (content, mode) in sorted(self.converged.items()):
            if path not in self.files:
                lines.append(f"{path}: missing")
                continue
            now_content, now_mode = self.files[path]
            if now_content != content:
                lines.append(f"{path}: content {now_content!r}")
            if now_mode != mode:
                lines.append(f"{path}: mode {now_mode}")
        return lines

    def snapshot(self, machine: str) -> Snapshot:
        files = {
            path: FileState(path, "file", mode, "root", "root", len(content), "1.0", content=content.encode())
            for path, (content, mode) in self.converged.items()
        }
        return Snapshot(machine, files=files)


class Lab:
    """Hosts, a deployer and a drift check wired into a drift strategy; `events` is what happened, in order."""

    def __init__(self, *machines: str) -> None:
        self.hosts = {name: Host(CONVERGED) for name in machines or ("pve1",)}
        self.events: list[str] = []

    def runner(self, machine: str) -> Any:
        def run(script: str) -> tuple[int, bytes, bytes]:
            sent = "save" if "tar -cpf" in script else "put back" if "tar -xpf" in script else script
            self.events.append(f"{machine}: {sent}")
            return self.hosts[machine].run(script)

        return run

    def compare(self, machine: str) -> list[str]:
        return self.hosts[machine].differences()

    def apply(self, mutation: Mutation) -> Healing:
        """A deployer that rewrites every managed file's content on every host, but leaves modes alone."""
        self.events.append(f"heal {mutation.id}")
        for host in self.hosts.values():
            for path, (content, mode) in host.converged.items():
                host.files[path] = (content, host.files.get(path, (content, mode))[1])
        return Healing([line for name in self.hosts for line in self.compare(name)])

    def check(self, machine: str) -> Check:
        """A good drift check: fails on any difference, and names each drifted path."""
        self.events.append(f"check {machine}")
        drifted = self.compare(machine)
        return Check(not drifted, "\n".join(f"DRIFT {line}" for line in drifted) or "no drift")

    def before(self, mutation: Mutation) -> None:
        self.events.append(f"before {mutation.id}")

    def run(self, mutations: list[Mutation], **options: Any) -> DriftReport:
        options = {"check": self.check, "heal": self.apply, "before": self.before, **options}
        strategy = Strategy(self, **options)
        return run_drift(strategy, {name: host.snapshot(name) for name, host in self.hosts.items()}, mutations)

    def at_converged(self) -> bool:
        return all(host.files == host.converged for host in self.hosts.values())


class Strategy:
    """A drift strategy made of the lab's parts, as the options of a test choose them."""

    detector = None
    unnamed_fails = True

    def __init__(
        self,
        lab: Lab,
        *,
        check: Callable[[str], Check] | None,
        heal: Callable[[Mutation], Healing],
        before: Callable[[Mutation], None],
        mask: Callable[[str], str] = lambda text: text,
        check_per_machine: bool = False,
        reports_healing: bool = False,
        verify_mutations: bool = True,
        apply_touches_all: bool = False,
        unnamed_fails: bool = True,
    ) -> None:
        self.unnamed_fails = unnamed_fails
        self.lab, self._check, self.heal, self.before, self.mask = lab, check, heal, before, mask
        self.runners = {name: lab.runner(name) for name in lab.hosts}
        self.has_check = check is not None or reports_healing
        self.check_per_machine, self.heal_reaches_all = check_per_machine, apply_touches_all
        self.verify_mutations = verify_mutations

    def arrange(self, mutations: list[Mutation]) -> list[Mutation]:
        return mutations

    def compare(self, machine: str) -> list[str]:
        return self.lab.compare(machine)

    def took(self, mutation: Mutation) -> bool:
        return not self.verify_mutations or bool(self.compare(mutation.machine))

    def check(self, machine: str) -> Check | None:
        return self._check(machine) if self._check is not None else None


def edit(path: str, content: str = "drifted", machine: str = "pve1") -> Mutation:
    return Mutation(machine, "edit", path, f"SET {path} {content}", (path,))


def chmod(path: str, mode: str = "700", machine: str = "pve1") -> Mutation:
    return Mutation(machine, "chmod", path, f"CHMOD {path} {mode}", (path,), f"mode -> {mode}")


def delete(path: str, machine: str = "pve1") -> Mutation:
    return Mutation(machine, "delete", path, f"RM {path}", (path,))


def failing(path: str, machine: str = "pve1") -> Mutation:
    """Changes the file half way, then fails."""
    return Mutation(machine, "edit", path, f"SET {path} half-written\nFAIL", (path,))


def noop(machine: str = "pve1") -> Mutation:
    return Mutation(machine, "custom", "noop", "NOOP", ("/a",))


def outcomes(report: DriftReport) -> list[tuple[str, str]]:
    return [(row.detected_column, row.healed_column) for row in report.rows]


def secret_masked(text: str) -> str:
    return text.replace("s3cret", "***")


# --- detection and healing ---


def test_a_good_check_and_a_healing_apply_detect_and_heal_every_mutation() -> None:
    lab = Lab("pve1", "pve2")
    report = lab.run([edit("/a"), edit("/b", machine="pve2"), delete("/b")])
    assert outcomes(report) == [(DETECTED, "yes")] * 3
    assert report.failures == []
    assert report.summary() == "3 mutations on 2 machines: 3 detected, 3 healed"
    assert report.rows[0].check_output == "DRIFT /a: content 'drifted'"
    assert report.rows[2].check_output == "DRIFT /b: missing"
    assert not any(event.endswith("put back") for event in lab.events)  # healed: nothing to put back
    assert lab.at_converged()


def test_a_check_that_always_passes_misses_every_mutation_it_is_run_against() -> None:
    lab = Lab()
    report = lab.run([edit("/a"), delete("/b")], check=lambda machine: Check(True, "all good"))
    assert outcomes(report) == [(MISSED, "yes")] * 2
    assert report.failures == report.rows
    assert report.summary() == (
        "2 mutations on 1 machine: the drift check missed every mutation it was run against (0 of 2 detected), 2 healed"
    )


def chatty_check(lab: Lab, names_the_drift: bool) -> Any:
    """Prints every path on every run, and a line naming /a with the time; fails on drift."""
    runs = itertools.count(1)

    def check(machine: str) -> Check:
        lines = [f"ok {path}" for path in sorted(CONVERGED)]
        lines.append(f"checked /a at 17000000{next(runs):02d}")  # differs from the baseline in digits only
        drifted = lab.compare(machine)
        if drifted:
            lines.append(f"FAILED: {len(drifted)} path(s) drifted")
            if names_the_drift:
                lines += [f"DRIFT {line}" for line in drifted]
        return Check(not drifted, "\n".join(lines))

    return check


def test_a_failing_check_names_a_mutation_only_in_lines_that_are_news_against_its_baseline() -> None:
    lab = Lab()
    report = lab.run([edit("/a"), chmod("/b")], check=chatty_check(lab, names_the_drift=False))
    # /a and /b are in every run's `ok` lines, /a in the timed line too: none of them is news
    assert outcomes(report) == [(UNNAMED, "yes"), (UNNAMED, "NO: /b: mode 700")]
    assert "ok /a" in report.rows[0].check_output
    assert report.failures == report.rows
    assert report.summary() == ("2 mutations on 1 machine: 0 detected, 2 failed without naming what drifted, 1 healed")


def test_a_failing_check_that_adds_a_line_naming_the_drift_detects_it() -> None:
    lab = Lab()
    report = lab.run([edit("/a"), delete("/b")], check=chatty_check(lab, names_the_drift=True))
    assert outcomes(report) == [(DETECTED, "yes")] * 2
    assert report.summary() == "2 mutations on 1 machine: 2 detected, 2 healed"


def test_each_machine_is_judged_against_its_own_baseline_when_checked_per_machine() -> None:
    def check(machine: str) -> Check:  # names every path with the machine: news on another machine
        drifted = lab.compare(machine)
        return Check(not drifted, "\n".join(f"ok {path} ({machine})" for path in sorted(CONVERGED)))

    lab = Lab("alpha", "beta")  # no digits in the names: digits are normalised away
    report = lab.run([edit("/a", machine="alpha"), edit("/a", machine="beta")], check=check, check_per_machine=True)
    assert outcomes(report) == [(UNNAMED, "yes")] * 2  # beta's `ok /a (beta)` is in beta's baseline: not news


def test_a_check_failing_on_the_converged_host_is_broken_and_its_output_masked() -> None:
    lab = Lab()
    with pytest.raises(CheckBroken) as caught:
        lab.run([edit("/a")], check=lambda machine: Check(False, "login with token s3cret refused"), mask=secret_masked)
    assert str(caught.value) == "the drift check fails on the converged host (pve1)\nlogin with token *** refused"
    assert "before edit /a" not in lab.events
    assert lab.at_converged()


# --- mutations that fail or change nothing ---


def test_a_mutation_that_fails_is_reported_and_the_host_put_back_before_the_next() -> None:
    lab = Lab()
    report = lab.run([failing("/a"), edit("/b")])
    first, second = report.rows
    assert first.detected_column == first.healed_column == "mutation failed (exit 1): permission denied"
    assert (second.detected, second.healed) == (DETECTED, True)
    assert second.check_output == "DRIFT /b: content 'drifted'"  # /a's half-written content was put back
    assert report.failures == [first]
    assert report.summary() == "2 mutations on 1 machine: 1 detected, 1 healed, 1 could not be made"
    assert "heal edit /a" not in lab.events
    assert lab.events.index("pve1: put back") < lab.events.index("before edit /b")


def test_a_mutation_that_changes_nothing_fails_without_check_or_heal() -> None:
    lab = Lab()
    report = lab.run([noop()])
    assert outcomes(report) == [(NOTHING_CHANGED, NOTHING_CHANGED)]
    assert report.failures == report.rows
    # no check, no heal; put back anyway, in case it changed what the snapshots do not watch
    assert lab.events == ["pve1: save", "check pve1", "before custom noop", "pve1: NOOP", "pve1: put back"]


def test_a_mutation_that_changes_nothing_still_goes_to_check_and_heal_when_not_verified() -> None:
    lab = Lab()  # a DaemonSet's loop may repair it before the suite could see it changed
    report = lab.run([noop()], verify_mutations=False)
    assert outcomes(report) == [(MISSED, "yes")]
    assert lab.events[-3:] == ["pve1: NOOP", "check pve1", "heal custom noop"]


# --- healing and putting back ---


def test_what_a_heal_leaves_is_reported_and_put_back_so_the_next_mutation_is_judged_on_its_own() -> None:
    lab = Lab()  # its deployer heals content, not modes
    report = lab.run([chmod("/a"), edit("/a")])
    assert outcomes(report) == [(DETECTED, "NO: /a: mode 700"), (DETECTED, "yes")]
    assert report.failures == [report.rows[0]]
    assert report.summary() == "2 mutations on 1 machine: 2 detected, 1 healed"
    heal, put_back, next_mutation = (lab.events.index(e) for e in ("heal chmod /a", "pve1: put back", "before edit /a"))
    assert heal < put_back < next_mutation
    assert lab.at_converged()


def test_a_host_that_cannot_be_put_back_costs_its_row_and_without_clones_the_rest_are_not_run() -> None:
    lab = Lab()
    lab.hosts["pve1"].restore_works = False
    report = lab.run(
        [edit("/a", "s3cret"), edit("/b")], heal=lambda mutation: Healing(lab.compare("pve1")), mask=secret_masked
    )
    first, second = report.rows
    assert first.healed_column == "NO: /a: content 's3cret'"  # the row itself is masked where it is printed
    assert (
        first.stuck
        == "after `edit /a` neither a new apply nor the harness could put pve1 back as it converged (/a: content '***')"
    )
    assert second.detected_column == NOT_RUN_STUCK
    assert report.failures == [first, second]
    fix = "exclude it (`drift.exclude: ['edit /a']`) or make the deployer heal it"
    assert report.notes == [f"{first.stuck}; the rest are not run; {fix}"]
    assert report.summary().endswith("1 could not be put back, 1 not run")
    assert "before edit /b" not in lab.events


def test_a_failed_mutation_that_cannot_be_put_back_costs_its_row_too() -> None:
    lab = Lab()
    lab.hosts["pve1"].restore_works = False
    report = lab.run([failing("/a"), edit("/b")])
    assert report.rows[0].stuck is not None and "/a: content 'half-written'" in report.rows[0].stuck
    assert report.rows[1].detected_column == NOT_RUN_STUCK


def test_healing_that_took_time_is_shown_with_its_seconds_and_counts_as_healed() -> None:
    lab = Lab()

    def loop(mutation: Mutation) -> Healing:
        return Healing(lab.apply(mutation).remaining, seconds=3.24)

    report = lab.run([edit("/a")], heal=loop)
    assert outcomes(report) == [(DETECTED, "yes (3.2 s)")]
    assert report.failures == []
    assert report.summary() == "1 mutation on 1 machine: 1 detected, 1 healed"


@pytest.mark.parametrize(("says", "detected"), [("repaired {paths}", DETECTED), ("repaired {count} file(s)", UNNAMED)])
def test_without_a_check_a_loop_that_reports_healing_must_name_what_it_repaired(says: str, detected: str) -> None:
    lab = Lab()

    def loop(mutation: Mutation) -> Healing:
        drifted = lab.compare(mutation.machine)
        lab.apply(mutation)
        paths = " ".join(line.split(":")[0] for line in drifted)
        return Healing([], says.format(paths=paths, count=len(drifted)), seconds=1.0)

    report = lab.run([edit("/a")], check=None, heal=loop, reports_healing=True, verify_mutations=False)
    assert outcomes(report) == [(detected, "yes (1.0 s)")]
    assert report.rows[0].check_output == says.format(paths="/a", count=1)
    assert "check pve1" not in lab.events


def test_without_a_check_or_a_healing_report_only_healing_is_judged() -> None:
    lab = Lab()
    report = lab.run([edit("/a"), chmod("/b")], check=None)
    assert outcomes(report) == [(NO_CHECK, "yes"), (NO_CHECK, "NO: /b: mode 700")]
    assert report.failures == [report.rows[1]]
    assert report.summary() == "2 mutations on 1 machine: 1 healed; no drift check in the spec, so healing only"


# --- what is sent where, and when ---


@pytest.mark.parametrize(("per_machine", "baselines"), [(True, ["check pve1", "check pve3"]), (False, ["check pve1"])])
def test_the_baseline_check_runs_on_each_mutated_machine_only_when_checked_per_machine(
    per_machine: bool, baselines: list[str]
) -> None:
    lab = Lab("pve1", "pve2", "pve3")
    lab.run([edit("/a", machine="pve1"), edit("/a", machine="pve3")], check_per_machine=per_machine)
    first_mutation = lab.events.index("before edit /a")
    assert [e for e in lab.events[:first_mutation] if e.startswith("check")] == baselines


def test_before_is_called_just_before_each_mutation_is_made() -> None:
    lab = Lab()
    lab.run([edit("/a"), chmod("/b"), failing("/a")])
    sent = ("pve1: save", "pve1: put back")
    made = [e for e in lab.events if e.startswith("before") or (e.startswith("pve1: ") and e not in sent)]
    assert made == [
        "before edit /a",
        "pve1: SET /a drifted",
        "before chmod /b",
        "pve1: CHMOD /b 700",
        "before edit /a",
        "pve1: SET /a half-written\nFAIL",
    ]


def test_the_converged_files_are_saved_only_on_machines_with_mutations() -> None:
    lab = Lab("pve1", "pve2", "pve3")
    lab.run([edit("/a", machine="pve3"), edit("/b", machine="pve1")])
    assert [e for e in lab.events if e.endswith("save")] == ["pve3: save", "pve1: save"]
    assert lab.hosts["pve2"].scripts == []
    assert lab.hosts["pve1"].scripts[0].endswith("tar -cpf /var/lib/harness/drift-converged.tar --no-recursion a b")
    assert lab.events.index("pve1: save") < lab.events.index("before edit /a")


def test_a_line_that_differs_from_the_baseline_in_a_mode_is_news_and_names_the_path() -> None:
    def modes(machine: str) -> Check:  # prints every file's mode each time; fails when one is off
        mode = lab.hosts[machine].files["/a"][1]
        return Check(mode == "644", f"2026-11-24T00:00:{next(seconds):02d}Z /a mode {mode}")

    seconds = itertools.count()

    lab = Lab()
    report = lab.run([chmod("/a", "600")], check=modes)
    assert report.rows[0].detected == DETECTED  # `mode 600` is news; the timestamp alone would not be


def test_a_host_the_apply_changed_besides_the_mutated_one_is_put_back_too() -> None:
    lab = Lab("pve1", "pve2")

    def apply_that_breaks_pve2(mutation: Mutation) -> Healing:
        lab.hosts["pve2"].files["/b"] = ("rewritten-by-apply", "600")
        return Healing([f"pve2: {line}" for line in lab.compare("pve2")])

    report = lab.run([edit("/a"), edit("/a", machine="pve2")], heal=apply_that_breaks_pve2, apply_touches_all=True)
    assert report.rows[0].healed_column.startswith("NO: pve2: /b: content")
    assert "pve2: put back" in lab.events
    # the second mutation starts from a converged pve2: its check names only /a
    assert report.rows[1].check_output == "DRIFT /a: content 'drifted'"


@pytest.mark.parametrize(
    ("baseline", "output", "expected"),
    [
        ("2026-11-24T00:00:01Z [render] ok /a", "2026-11-24T00:07:09Z [render] ok /a", ""),  # ISO 8601
        ("2026-01-02 03:04:05,123 INFO ok /a", "2026-01-02 03:09:15,987 INFO ok /a", ""),  # Python logging
        ("00:12:33 [w1] pass took 0.52s", "00:12:38 [w1] pass took 1.7 s", ""),  # a time of day, a duration
        ("/a mode 644", "/a mode 600", "/a mode 600"),  # other numbers are news
        ("ok /a\nok /b", "ok /a\nDRIFT /b: content\nok /b", "DRIFT /b: content"),
    ],
)
def test_news_are_the_lines_the_baseline_does_not_hold_clock_readings_aside(
    baseline: str, output: str, expected: str
) -> None:
    assert news(output, baseline) == expected


def test_what_a_loop_logs_on_every_pass_is_repeated_and_its_first_writes_are_not() -> None:
    log = "00:00:01 [w1] wrote /etc/a\n00:00:01 [w1] ok /etc/a\n00:00:06 [w1] ok /etc/a\n00:00:11 [w1] ok /etc/a"
    assert repeated(log) == "00:00:01 [w1] ok /etc/a\n00:00:06 [w1] ok /etc/a\n00:00:11 [w1] ok /etc/a"
    assert news("00:00:16 [w1] wrote /etc/a\n00:00:16 [w1] ok /etc/a", repeated(log)) == "00:00:16 [w1] wrote /etc/a"


def test_a_loop_repair_its_log_does_not_name_warns_by_default_and_fails_when_the_spec_says_so() -> None:
    def loop(lab: Lab) -> Callable[[Mutation], Healing]:
        def heal(mutation: Mutation) -> Healing:
            lab.apply(mutation)
            return Healing([], "tick", seconds=1.0)  # repaired, and says nothing about it

        return heal

    for fails in (False, True):
        lab = Lab()
        options = {"check": None, "reports_healing": True, "verify_mutations": False, "unnamed_fails": fails}
        report = lab.run([edit("/a")], heal=loop(lab), **options)
        assert outcomes(report) == [(UNNAMED, "yes (1.0 s)")]
        assert bool(report.failures) is fails
        if not fails:
            assert "1 repaired without naming it in the log (a warning" in report.summary()


def test_a_short_name_in_what_the_check_says_of_every_item_names_nothing() -> None:
    """`pve-nut: drift found` after every mutation names no unit, though pve-nut is pve-nut.service's short name;
    `DRIFT unit pve-nut: inactive`, said only of that unit, names it."""
    unit = Mutation("pve1", "stop", "pve-nut.service", "NOOP", ("pve-nut.service",), "", ("pve-nut",))
    file = edit("/a")

    def check(says: str) -> Callable[[str], Check]:
        def run(machine: str) -> Check:
            drifted = lab.compare(machine) or lab.events[-1:] == ["pve1: NOOP"]
            return Check(not drifted, says if drifted else "pve-nut: ok")

        return run

    for says, named in (("pve-nut: drift found, run apply", UNNAMED), ("[pve-nut] DRIFT: 3 differences", UNNAMED)):
        lab = Lab()
        report = lab.run([unit, file], check=check(says), verify_mutations=False)
        assert [row.detected for row in report.rows] == [named, UNNAMED], says

    lab = Lab()

    def exact(machine: str) -> Check:
        if lab.events[-1:] == ["pve1: NOOP"]:
            return Check(False, "DRIFT unit pve-nut: inactive")
        drifted = lab.compare(machine)
        return Check(not drifted, "\n".join(f"DRIFT {line}" for line in drifted) or "all good")

    report = lab.run([unit, file], check=exact, verify_mutations=False)
    assert [row.detected for row in report.rows] == [DETECTED, DETECTED]
    assert report.rows[0].short_named


# --- lanes: clones of the converged machines, side by side ---


class Rendezvous:
    """Each lane's first row waits until every lane has one: these fakes are instant, and the lane that is ready
    first would take every row."""

    def __init__(self, lanes: int) -> None:
        self.lanes, self.met = lanes, threading.Condition()
        self.seen: set[int] = set()

    def wrap(self, lab: Lab, before: Callable[[Mutation], None]) -> Callable[[Mutation], None]:
        def wrapped(mutation: Mutation) -> None:
            with self.met:
                self.seen.add(id(lab))
                self.met.notify_all()
                assert self.met.wait_for(lambda: len(self.seen) >= self.lanes, timeout=5)
            before(mutation)

        return wrapped


class Elsewhere(Lab):
    """A clone of a deployer that writes its host's own address into /a: an apply there never leaves it as the
    original converged."""

    def apply(self, mutation: Mutation) -> Healing:
        healing = super().apply(mutation)
        for host in self.hosts.values():
            host.files["/a"] = ("alpha@198.51.100.20", host.files["/a"][1])
        return Healing([*healing.remaining, *(line for name in self.hosts for line in self.compare(name))])


class Clones:
    """Clones of a lab's hosts as they were when frozen; `refuse` makes the next clones fail their check,
    `elsewhere` makes them clones of a deployer that writes its host's address."""

    def __init__(self, lab: Lab, *, elsewhere: bool = False, **options: Any) -> None:
        self.lab, self.options, self.made, self.refuse, self.elsewhere = lab, options, [], False, elsewhere
        self.frozen: dict[str, Host] = {}
        self.discarded: list[Strategy] = []
        self.proved: list[Strategy] = []
        self.meeting: Rendezvous | None = None

    def freeze(self) -> None:
        self.frozen = copy.deepcopy(self.lab.hosts)

    def prove(self, lane: Strategy) -> list[str]:
        self.proved.append(lane)
        lane.heal(Mutation("pve1", "custom", "proof", "NOOP", ()))
        return [line for name in lane.lab.hosts for line in lane.compare(name)]

    def lane(self) -> Strategy:
        clone = Elsewhere() if self.elsewhere else Lab()
        clone.hosts = copy.deepcopy(self.frozen)
        for host in clone.hosts.values():
            host.restore_works = True  # what could not be put back was the lane's host, not the image
        self.made.append(clone)
        check = (lambda machine: Check(False, "refused")) if self.refuse else clone.check
        before = self.meeting.wrap(clone, clone.before) if self.meeting else clone.before
        return Strategy(clone, **{"check": check, "heal": clone.apply, "before": before, **self.options})

    def discard(self, lane: Strategy) -> None:
        self.discarded.append(lane)


def run_on_lanes(
    lab: Lab, clones: Clones, mutations: list[Mutation], lanes: int, *, every_lane: bool = False
) -> DriftReport:
    """With ``every_lane``, each lane runs rows."""
    before: Callable[[Mutation], None] = lab.before
    if every_lane:
        clones.meeting = Rendezvous(lanes)
        before = clones.meeting.wrap(lab, lab.before)
    strategy = Strategy(lab, check=lab.check, heal=lab.apply, before=before)
    converged = {name: host.snapshot(name) for name, host in lab.hosts.items()}
    return run_drift(strategy, converged, mutations, clones=clones, lanes=lanes)


def mixed() -> list[Mutation]:
    return [edit("/a"), chmod("/b"), delete("/a"), failing("/b"), noop(), chmod("/a", "600"), edit("/b")]


def test_lanes_give_the_serial_matrix_row_for_row() -> None:
    serial = Lab().run(mixed())
    lab = Lab()
    clones = Clones(lab)
    parallel = run_on_lanes(lab, clones, mixed(), lanes=3, every_lane=True)
    assert [r.mutation for r in parallel.rows] == mixed()
    assert outcomes(parallel) == outcomes(serial)
    assert parallel.summary() == serial.summary()
    assert clones.made and parallel.lanes == len(clones.made) + 1
    assert all(any(e.startswith("before") for e in c.events) for c in clones.made)  # every clone ran rows
    assert all(not any(e.startswith("save") for e in c.events) for c in clones.made)  # clones carry the save


def test_a_clone_is_proven_by_its_first_healed_row_or_once_by_an_apply_and_its_rows_stand() -> None:
    healable = [edit("/a"), edit("/b"), delete("/a"), edit("/b", "again")]
    lab = Lab()
    clones = Clones(lab)
    report = run_on_lanes(lab, clones, healable, lanes=2, every_lane=True)
    assert outcomes(report) == [(DETECTED, "yes")] * 4 and clones.proved == []  # healed there: proven

    unhealable = [chmod("/a"), chmod("/b"), chmod("/a", "640"), chmod("/b", "640")]
    serial = Lab().run(unhealable)
    lab = Lab()
    clones = Clones(lab)
    report = run_on_lanes(lab, clones, unhealable, lanes=2, every_lane=True)
    assert outcomes(report) == outcomes(serial)
    assert len(clones.proved) == len(clones.made) == 1  # its first unhealed row proved it, the next did not
    assert report.notes == []


def test_clones_an_apply_leaves_unlike_the_machines_take_no_rows_and_theirs_run_again_on_the_machines() -> None:
    mutations = [edit("/a"), edit("/b"), delete("/a"), chmod("/b"), edit("/b", "again")]
    serial = Lab().run(mutations)
    lab = Lab()
    clones = Clones(lab, elsewhere=True)
    report = run_on_lanes(lab, clones, mutations, lanes=2, every_lane=True)
    assert [r.mutation for r in report.rows] == mutations
    assert outcomes(report) == outcomes(serial)  # every row as the machines give it, none as a clone did
    assert len(clones.made) == 1 and clones.discarded == clones.proved  # proved once, then gone
    assert report.notes == ["clones take no rows: /a: content 'alpha@198.51.100.20'"]
    ran_on_lab = [e.removeprefix("before ") for e in lab.events if e.startswith("before")]
    assert sorted(ran_on_lab) == sorted(m.id for m in mutations)  # the clone's row too, again


def test_clones_start_from_the_frozen_converged_hosts_after_the_save() -> None:
    lab = Lab()
    clones = Clones(lab)
    run_on_lanes(lab, clones, [edit("/a"), edit("/b"), chmod("/a")], lanes=2)
    assert clones.frozen["pve1"].saved == CONVERGED  # frozen after the converged files were saved
    assert clones.frozen["pve1"].files == CONVERGED


def test_a_lane_that_cannot_be_put_back_is_replaced_by_a_clone_and_the_matrix_goes_on() -> None:
    lab = Lab()
    lab.hosts["pve1"].restore_works = False  # only the first lane's host is broken; clones are not
    clones = Clones(lab)
    report = run_on_lanes(lab, clones, [chmod("/a"), chmod("/b"), edit("/a")], lanes=1)
    assert [r.stuck is not None for r in report.rows] == [True, False, False]
    assert outcomes(report)[1:] == [(DETECTED, "NO: /b: mode 700"), (DETECTED, "yes")]
    assert len(clones.made) == 1
    assert report.notes[0].endswith(
        "a new clone of the converged machines takes its place; exclude it"
        " (`drift.exclude: ['chmod /a']`) or make the deployer heal it"
    )


def test_a_clone_whose_check_fails_on_the_converged_host_is_refused_and_the_other_lanes_go_on() -> None:
    lab = Lab()
    clones = Clones(lab)
    clones.refuse = True
    report = run_on_lanes(lab, clones, [edit("/a"), edit("/b"), delete("/a")], lanes=2)
    assert outcomes(report) == [(DETECTED, "yes")] * 3  # all on the first lane
    assert report.lanes == 1
    refused = "the drift check fails on the converged host (pve1)\nrefused"
    assert report.notes == [f"a copy of the converged machines could not be used: {refused}"]


def test_each_row_is_timed_by_phase_and_the_profile_gives_medians_and_the_deployers_share() -> None:
    lab = Lab()

    def check(machine: str) -> Check:
        drifted = lab.compare(machine)
        return Check(not drifted, "\n".join(f"DRIFT {line}" for line in drifted) or "ok", ran=0.0)

    def heal(mutation: Mutation) -> Healing:
        healed = lab.apply(mutation)
        return Healing(healed.remaining, ran=0.0)

    report = lab.run([edit("/a"), chmod("/b"), failing("/a")], check=check, heal=heal)
    assert list(report.rows[0].phases) == ["mutate", "check", "heal"]  # healed: nothing to put back
    assert list(report.rows[1].phases) == ["mutate", "check", "heal", "put back"]
    assert list(report.rows[2].phases) == ["mutate", "put back"]  # failed: no check, no heal
    profile = report.profile()
    assert profile is not None and profile.startswith("per mutation (median): mutate 0.0 s, check 0.0 s, heal 0.0 s")
    assert "the deployer's own pods" not in profile  # its pods ran no time at all here
    report.rows[0].deployer_seconds = 1.0
    report.rows[0].phases["heal"] = 3.0
    assert report.profile().endswith("the deployer's own pods ran 33% of it")  # type: ignore[union-attr]


class Breaks(Host):
    """A host whose SSH connection breaks when it is sent a script that ``on`` picks."""

    def __init__(self, files: Files, on: Callable[[str], bool]) -> None:
        super().__init__(files)
        self.on = on

    def run(self, script: str) -> tuple[int, bytes, bytes]:
        if self.on(script):
            raise HarnessError("pve1: SSH to 192.0.2.7 failed: connection reset")
        return super().run(script)


def killable() -> Breaks:
    """A host whose SSH connection a mutation breaks."""
    return Breaks(CONVERGED, on=lambda script: script == "KILL-SSHD")


KILLER = Mutation("pve1", "custom", "sshd-killed", "KILL-SSHD", ("sshd",))


def test_a_mutation_that_breaks_every_lane_runs_twice_then_is_reported_and_the_others_are_judged() -> None:
    lab = Lab()
    lab.hosts = {"pve1": killable()}
    clones = Clones(lab)
    original = clones.lane

    def lane() -> Strategy:  # clones are as breakable as the machine they were made from
        made = original()
        made.lab.hosts = {"pve1": killable()}
        made.lab.hosts["pve1"].saved = dict(CONVERGED)
        return made

    clones.lane = lane  # type: ignore[method-assign]
    report = run_on_lanes(lab, clones, [edit("/a"), KILLER, edit("/b")], lanes=1)
    first, broken, last = report.rows
    assert (first.detected, last.detected) == (DETECTED, DETECTED)
    assert broken.unjudged == "its lane broke twice: pve1: SSH to 192.0.2.7 failed: connection reset"
    # Lane 0 broke, then the first clone; the second went once no row was left.
    assert len(clones.made) == 2 and len(clones.discarded) == 3
    assert report.notes == [
        "a lane broke while it ran `custom sshd-killed`; it runs again on another: pve1: SSH to 192.0.2.7 failed:"
        " connection reset"
    ]


def test_a_row_whose_lane_breaks_while_it_is_put_back_runs_again_once_and_the_suite_ends() -> None:
    lab = Lab()
    lab.hosts = {"pve1": Breaks(CONVERGED, on=lambda script: "tar -xpf" in script)}  # when put back
    clones = Clones(lab)
    done: list[DriftReport] = []
    suite = threading.Thread(
        target=lambda: done.append(run_on_lanes(lab, clones, [failing("/b"), edit("/a")], lanes=1)), daemon=True
    )
    suite.start()
    suite.join(10)
    assert not suite.is_alive(), "the suite waits for a row counted twice"
    (report,) = done
    assert report.rows[0].retried and report.rows[0].unjudged is not None  # failed, again, on the clone
    assert outcomes(report)[1] == (DETECTED, "yes")


def test_without_clones_a_broken_lane_is_the_suites_error() -> None:
    lab = Lab()
    lab.hosts = {"pve1": killable()}
    with pytest.raises(HarnessError, match="connection reset"):
        lab.run([edit("/a"), KILLER])


def test_a_check_failing_on_the_first_lanes_converged_hosts_is_the_suites_error_and_no_clone_takes_a_row() -> None:
    lab = Lab()
    clones = Clones(lab)
    strategy = Strategy(lab, check=lambda machine: Check(False, "broken"), heal=lab.apply, before=lab.before)
    converged = {name: host.snapshot(name) for name, host in lab.hosts.items()}
    with pytest.raises(CheckBroken, match="fails on the converged host"):
        run_drift(strategy, converged, [edit("/a"), edit("/b"), delete("/a")], clones=clones, lanes=3)
    # The clone lanes booted meanwhile; they were waited for, took no row, and were closed.
    assert len(clones.made) == 2 and all(not any(e.startswith("before") for e in c.events) for c in clones.made)
    assert len(clones.discarded) == 2


def test_a_clone_with_no_row_left_to_take_goes_while_the_other_lanes_finish_theirs() -> None:
    lab = Lab()
    clones = Clones(lab)
    clones.meeting = Rendezvous(2)
    gone = threading.Event()
    kept = clones.discard

    def discard(lane: Strategy) -> None:
        kept(lane)
        gone.set()

    clones.discard = discard  # type: ignore[method-assign]
    met = clones.meeting.wrap(lab, lab.before)
    seen_gone: list[bool] = []

    def before(mutation: Mutation) -> None:  # the first lane's row lasts until the clone is gone, or 5 s
        met(mutation)
        seen_gone.append(gone.wait(5))

    strategy = Strategy(lab, check=lab.check, heal=lab.apply, before=before)
    converged = {name: host.snapshot(name) for name, host in lab.hosts.items()}
    report = run_drift(strategy, converged, [edit("/a"), edit("/b")], clones=clones, lanes=2)
    assert outcomes(report) == [(DETECTED, "yes")] * 2
    assert seen_gone == [True]  # the clone's row done, none left: it went while the first lane's row ran
    assert len(clones.made) == 1 and len(clones.discarded) == 1


def test_a_clone_stays_for_a_row_given_back_once_the_deployments_own_machines_broke() -> None:
    # The first lane breaks on its row while the clone finishes the other. The row comes back; no new clone can
    # be made, so only the clone that is still there can run it: it must not have gone when the queue was empty.
    lab = Lab()
    lab.hosts = {"pve1": Breaks(CONVERGED, on=lambda script: script == "SET /a drifted")}
    clones = Clones(lab)
    home_took, home_broke, clone_gone = threading.Event(), threading.Event(), threading.Event()
    original, kept = clones.lane, clones.discard

    def lane() -> Strategy:
        if clones.made:
            raise HarnessError("no room for another clone")
        assert home_took.wait(5)  # the first lane takes the first row
        made = original()
        made.lab.hosts = {"pve1": Host(CONVERGED)}
        made.lab.hosts["pve1"].saved = dict(CONVERGED)
        heal = made.heal

        def heal_once_home_broke(mutation: Mutation) -> Healing:
            assert home_broke.wait(5)
            return heal(mutation)

        made.heal = heal_once_home_broke
        return made

    def discard(lane: Strategy) -> None:
        kept(lane)
        if lane.lab is lab:  # a clone that went now would leave the row given back to no lane
            home_broke.set()
            clone_gone.wait(1)
        else:
            clone_gone.set()

    clones.lane = lane  # type: ignore[method-assign]
    clones.discard = discard  # type: ignore[method-assign]

    def before(mutation: Mutation) -> None:
        home_took.set()
        lab.before(mutation)

    strategy = Strategy(lab, check=lab.check, heal=lab.apply, before=before)
    converged = {name: host.snapshot(name) for name, host in lab.hosts.items()}
    report = run_drift(strategy, converged, [edit("/a"), edit("/b")], clones=clones, lanes=2)
    again = report.rows[0]
    assert again.retried and again.unjudged is None, again.unjudged
    assert outcomes(report) == [(DETECTED, "yes")] * 2
    (clone,) = clones.made  # the one clone there was ran the row given back
    assert [e for e in clone.events if e.startswith("before")] == ["before edit /b", "before edit /a"]
