"""The pytest plugin: ``pytest --deployer NAME`` turns each scenario into an item per deployer.

A thin layer: options paired with ini settings, state in ``config.stash``, collection, items and the summary.
The work is the library's: :class:`harness.session.RunSession` sweeps, builds, probes the engine, makes kind
clusters and runs each scenario; xdist workers get it as plain values.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from _pytest._code.code import ReprExceptionInfo, ReprFileLocation, ReprTracebackNative

from harness import PROJECT, progress
from harness.checks.report import SHELL, ScenarioLog, StepFailed, is_scenario, mask_property, summary_lines
from harness.checks.steps import offline
from harness.deployer.cross_checks import load_deployer
from harness.deployer.discovery import resolve
from harness.deployer.spec import SPEC_FILE, DeployerSpec
from harness.drift.options import TIERS, DriftOptions
from harness.engine.client import connect
from harness.errors import EngineUnavailable, HarnessError, NoPreviousVersion, NotApplicable, engine_error
from harness.faults.spec import ALL, ONE
from harness.images.catalog import Catalog
from harness.images.given import parse_images, resolve_image
from harness.kustomize.render import renderer
from harness.progress_hooks import ProgressHooks
from harness.reports.annotations import error_annotation, in_github_actions, lint_annotations, where_of
from harness.reports.outputs import write_reports
from harness.reports.results import ItemResult, item_result
from harness.scenario.model import Scenario, scenarios_for
from harness.scenario.shared import held_by
from harness.secrets import SecretRegistry
from harness.selection import needs_machines
from harness.session import CLUSTERS, RunSession
from harness.signals import StopSignals, drop_lineless_frames, hold_all

SESSION_INPUT = "deployer_harness_session"


@dataclass
class State:
    specs: dict[Path, DeployerSpec] = field(default_factory=dict)  # by spec file path
    session: RunSession = field(default_factory=RunSession)
    reporter: Any = None
    signals: StopSignals = field(default_factory=StopSignals)
    results: dict[str, ItemResult] = field(default_factory=dict)  # by node id: every item, from every worker
    quiet: bool = False  # -q: no progress

    def progress(self, line: str) -> None:
        if self.quiet:
            return
        if self.reporter is not None:  # before the tests: straight to the terminal
            self.reporter.write_line(f"[{PROJECT}] {line}")
        else:  # during them: through the progress folder, which the controller prints
            progress.say(line)


STATE = pytest.StashKey[State]()
KEEP_ALWAYS, KEEP_ON_FAILURE = "always", "on-failure"
KEEP_MODES = (KEEP_ALWAYS, KEEP_ON_FAILURE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(PROJECT, "deployer test harness")
    group.addoption(
        "--deployer",
        action="append",
        default=[],
        metavar="NAME",
        help="test this deployer (a folder of the deployers dir with harness.yaml); repeatable; `all`",
    )
    group.addoption(
        "--deployers-dir",
        default=None,
        metavar="DIR",
        help="where deployers live (default: ini deployers_dir, or `deployers`)",
    )
    group.addoption(
        "--image",
        action="append",
        default=[],
        metavar="NAME=REF",
        help="test this image for deployer NAME instead of building its Dockerfile: a tag or ID in the local engine,"
        " or docker-archive:PATH (docker save, buildx type=docker); repeatable",
    )
    group.addoption(
        "--keep",
        nargs="?",
        const=KEEP_ALWAYS,
        default=None,
        metavar="on-failure",
        help="leave the machines running after the run and print how to get a shell in each; --keep=on-failure:"
        " only those of failed items",
    )
    _add_run_options(group)
    _add_ini_settings(parser)


def _add_run_options(group: Any) -> None:
    group.addoption(
        "--deployer-json",
        default=None,
        metavar="PATH",
        help="write every verdict, diff, finding, drift row and rollback leftover as JSON (schema: "
        "harness/reports/report.schema.json)",
    )
    group.addoption(
        "--deployer-html",
        default=None,
        metavar="PATH",
        help="write the run as one self-contained HTML page: verdicts, step timelines, the drift grid with each "
        "failing row's evidence, highlighted diffs, rollback leftovers",
    )
    group.addoption(
        "--deployer-sarif",
        default=None,
        metavar="PATH",
        help="write the lint scenario's findings as SARIF 2.1.0, for code scanning (paths from the rootdir)",
    )
    group.addoption(
        "--cluster",
        choices=CLUSTERS,
        default=None,
        help="where DaemonSet deployers run: sim (simulated nodes, the default) or kind (needs kind and kubectl)",
    )
    group.addoption(
        "--drift",
        choices=TIERS,
        default=None,
        help="the drift matrix: skip (the default run, a CI gate), quick (a sample; the default with -m drift) or"
        " full (every mutation, for nightly runs)",
    )
    group.addoption(
        "--drift-workers",
        type=int,
        default=None,
        metavar="K",
        help="mutations run side by side on K clones of the converged machines (default: the engine's CPUs)",
    )


def _add_ini_settings(parser: pytest.Parser) -> None:
    parser.addini("deployer_json", "like --deployer-json: where to write the run's results as JSON", default="")
    parser.addini("deployer_html", "like --deployer-html: where to write the run's HTML report", default="")
    parser.addini("deployer_sarif", "like --deployer-sarif: where to write the lint findings as SARIF", default="")
    parser.addini(
        "deployer_progress_every",
        "seconds between two progress lines of a scenario (default 10; -q prints none)",
        default=str(progress.EVERY),
    )
    parser.addini("deployer_drift", "the drift tier when --drift is not given: skip, quick or full", default="")
    parser.addini("deployer_drift_workers", "like --drift-workers (0: the engine's CPUs)", default="0")
    parser.addini("deployers_dir", "where deployers live, relative to the rootdir", default="deployers")
    parser.addini(
        "deployer_apply_deadline",
        "seconds an apply may run when its Job sets no activeDeadlineSeconds (default 600; a spec's "
        "`runner.deadline_seconds` wins)",
        default="",
    )
    parser.addini("deployer_cluster", "cluster backend for DaemonSets: sim or kind (like --cluster)", default="sim")
    parser.addini(
        "deployer_keep", "leave machines running: false, true (always) or on-failure (like --keep)", default=""
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for scenario in scenarios_for():
        config.addinivalue_line("markers", f"{scenario.name}: the {scenario.name} scenario ({scenario.description})")
    state = State(quiet=config.option.verbose < 0)
    config.stash[STATE] = state
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and SESSION_INPUT in workerinput:
        state.session = RunSession.from_data(workerinput[SESSION_INPUT], state.progress)
    else:
        keep = _keep_option(config) or _keep_ini(config)
        cluster = config.getoption("cluster") or config.getini("deployer_cluster")
        try:
            state.session = RunSession(
                keep=keep == KEEP_ALWAYS,
                keep_on_failure=keep == KEEP_ON_FAILURE,
                cluster=cluster,
                drift=_drift_options(config),
                progress=state.progress,
            )
        except HarnessError as exc:
            raise pytest.UsageError(f"deployer_cluster in the ini file: {exc}") from None
    names: list[str] = config.getoption("deployer")
    if names:
        state.signals.install()  # SIGTERM and SIGHUP clean up as Ctrl-C does
        _load_specs(config, state, names)
        if not state.quiet:
            hooks = ProgressHooks(config, lambda: state.session.bench.workdir, _progress_every(config))
            config.pluginmanager.register(hooks, f"{PROJECT}-progress")
        if workerinput is None:
            config.pluginmanager.register(ResultsCollector(state), f"{PROJECT}-results")
    images: list[str] = config.getoption("image")
    if images and workerinput is None:
        _given_images(state, images)


def _progress_every(config: pytest.Config) -> float:
    value = str(config.getini("deployer_progress_every")).strip()
    try:
        every = float(value)
    except ValueError:
        every = -1.0
    if not math.isfinite(every) or every < 0:
        raise pytest.UsageError(
            f"deployer_progress_every in the ini file is {value!r}: give the seconds between two progress lines, "
            f"e.g. {progress.EVERY:g}"
        )
    return every


def _given_images(state: State, values: list[str]) -> None:
    """``--image NAME=REF``: found (or loaded) in the engine now, so that a wrong one is a usage error."""
    try:
        wanted = parse_images(values, [spec.name for spec in state.specs.values()])
        client = connect()
        state.session.images = {name: resolve_image(client, ref) for name, ref in wanted.items()}
    except HarnessError as exc:  # the engine unavailable included
        raise _usage_error(exc) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.signals.uninstall()


def _keep_option(config: pytest.Config) -> str | None:
    """``--keep``, ``--keep=on-failure``; ``--keep PATH`` (argparse took the path for the value) keeps always, and
    the path is collected as it would have been."""
    value: str | None = config.getoption("keep")
    if value is None or value in KEEP_MODES:
        return value
    if not (config.invocation_params.dir / value.split("::")[0]).exists():
        raise pytest.UsageError(f"--keep is given {value!r}: write --keep (always) or --keep=on-failure")
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.append(value)
    else:
        config.args[:] = [value]
        config.args_source = pytest.Config.ArgsSource.ARGS
    return KEEP_ALWAYS


def _keep_ini(config: pytest.Config) -> str | None:
    value = str(config.getini("deployer_keep")).strip().lower()
    if value in ("", "false", "0", "no", "n", "f", "off"):
        return None
    if value in ("true", "1", "yes", "y", "t", "on", KEEP_ALWAYS):
        return KEEP_ALWAYS
    if value == KEEP_ON_FAILURE:
        return KEEP_ON_FAILURE
    raise pytest.UsageError(f"deployer_keep in the ini file is {value!r}: give false, true or on-failure")


def _drift_options(config: pytest.Config) -> DriftOptions:
    """The tier: --drift, else the ini setting, else quick when the selection names drift (``-m``, ``-k`` or a
    drift item's node id) and skip (the gate) otherwise."""
    tier = config.getoption("drift") or str(config.getini("deployer_drift")).strip()
    if not tier:
        expressions = f"{config.getoption('markexpr') or ''} {config.getoption('keyword') or ''}"
        named = re.search(r"\bdrift\b", expressions) or any(arg.endswith("::drift") for arg in config.args)
        tier = "quick" if named else "skip"
    workers = config.getoption("drift_workers")
    try:
        lanes = int(config.getini("deployer_drift_workers")) if workers is None else workers
    except ValueError:
        raise pytest.UsageError("deployer_drift_workers in the ini file: give a count (0: the engine's CPUs)") from None
    expressions = f"{config.getoption('markexpr') or ''} {config.getoption('keyword') or ''}"
    crash_points = bool(re.search(r"\bcrash-points\b", expressions)) or any(
        arg.endswith("::crash-points") for arg in config.args
    )
    try:
        return DriftOptions(tier, lanes, crash_points)
    except HarnessError as exc:
        raise pytest.UsageError(f"--drift, --drift-workers or their ini settings: {exc}") from None


def _load_specs(config: pytest.Config, state: State, names: list[str]) -> None:
    # The option is relative to where pytest was started, the ini setting to the rootdir; both are
    # normalised as pytest normalises collection paths, or the spec files would never match.
    option = config.getoption("deployers_dir")
    base = config.invocation_params.dir if option else config.rootpath
    root = Path(os.path.abspath(base / (option or config.getini("deployers_dir"))))
    registered = {s.name for s in scenarios_for()}
    deadline = _apply_deadline(config)
    try:
        kinds = Catalog().names(hosts_only=True)
        for folder in resolve(root, names):
            spec = load_deployer(folder, kinds, deadline)
            state.specs[spec.path] = spec
            for scenario in scenarios_for(spec.folder):  # a deployer's own scenarios get markers too
                if scenario.name not in registered:
                    registered.add(scenario.name)
                    config.addinivalue_line("markers", f"{scenario.name}: {scenario.description or 'scenario'}")
    except HarnessError as exc:
        raise _usage_error(exc) from None
    spec_files = [str(path) for path in state.specs]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args += spec_files
    else:  # no paths given: run the deployers, not the project's testpaths
        config.args[:] = spec_files


def _usage_error(exc: HarnessError) -> pytest.UsageError:
    """Said once, as pytest says usage errors; in a GitHub Actions job also marked on the file it names."""
    if in_github_actions():
        file, line = where_of(exc.where)
        print(error_annotation(str(exc), file=file, line=line, title="deployer-harness: bad input"), flush=True)
    return pytest.UsageError(str(exc))


def _apply_deadline(config: pytest.Config) -> tuple[float, str] | None:
    text = str(config.getini("deployer_apply_deadline")).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise pytest.UsageError(
            f"deployer_apply_deadline in the ini file is {text!r}: give a number of seconds above 0, e.g. 600"
        )
    return seconds, "the ini setting deployer_apply_deadline"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: workers get the session as plain values (run id, probe, build errors, kind clusters)."""
    node.workerinput[SESSION_INPUT] = node.config.stash[STATE].session.to_data()


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE]
    if not state.specs:
        return []
    names = ", ".join(spec.name for spec in state.specs.values())
    given = [
        f"{PROJECT}: image under test for {name}: {image.describe()}" for name, image in state.session.images.items()
    ]
    folders = [spec for spec in state.specs.values() if spec.manifest.is_dir()]
    by = renderer()[0] if folders else ""  # said once each spec loaded: its manifest rendered then
    kustomized = [
        f"{PROJECT}: manifest of {spec.name}: {os.path.relpath(spec.manifest, spec.folder)}/, rendered by {by}"
        for spec in folders
    ]
    return [f"{PROJECT}: {state.session.describe()}; deployers: {names}", *given, *kustomized]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Controller (or a run without xdist): sweep dead runs, build every image once, probe the engine, make the
    kind clusters; workers get the result in ``pytest_configure_node``."""
    config = session.config
    state = config.stash[STATE]
    if not state.specs:
        return
    wanted = [spec for spec in state.specs.values() if needs_machines(config, spec)]
    if wanted and _runs_items(config):  # the first machines' host keys, made while the rest gets ready
        state.session.bench.host_keys.prime()
    if hasattr(config, "workerinput"):
        return
    state.reporter = config.pluginmanager.get_plugin("terminalreporter")
    try:
        if wanted:  # `-m lint` alone needs no image, no engine probe
            state.session.prepare(wanted)
    except EngineUnavailable as exc:
        raise _usage_error(exc) from None
    except docker.errors.APIError as exc:  # the engine refused: one line, not a traceback
        raise pytest.UsageError(str(engine_error(exc))) from None
    finally:
        state.reporter = None  # progress during tests would break the report lines


def _runs_items(config: pytest.Config) -> bool:
    """This process runs the tests: a run without xdist, or one of its workers (not their controller)."""
    if config.option.collectonly:
        return False
    return hasattr(config, "workerinput") or config.getoption("dist", "no") == "no"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A deployer's own tests run only inside the harness, against its machines.

    Collected as ordinary tests they would get testinfra's default host, the
    machine running pytest, and check (or change) the wrong computer.
    """
    if collection_path.is_dir() and (collection_path.parent / SPEC_FILE).is_file():
        return True
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = parent.config.stash[STATE]
    if file_path.name == SPEC_FILE and file_path in state.specs:
        return DeployerFile.from_parent(parent, path=file_path)
    return None


class DeployerFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        spec = self.config.stash[STATE].specs[self.path]
        try:
            scenarios = scenarios_for(spec.folder)
        except HarnessError as exc:
            raise self.CollectError(str(exc)) from None
        items: list[pytest.Item] = []
        machines = {m.name for m in spec.machines}
        for scenario in sorted(scenarios, key=lambda s: not offline(s.steps)):  # lint first: seconds, no machine
            if scenario.workload not in ("any", spec.workload):
                continue
            for fault in scenario.faults:
                if fault.machine not in (ALL, ONE) and fault.machine not in machines:
                    raise self.CollectError(
                        f"{scenario.path}: a fault names machine {fault.machine!r}, which {spec.name} has not\n"
                        f"  fix: use one of: {', '.join(sorted(machines))}, `one` or `all`"
                    )
            item = ScenarioItem.from_parent(self, name=scenario.name, spec=spec, scenario=scenario)
            item.add_marker(scenario.name)
            items.append(item)
        return items


class ScenarioItem(pytest.Item):
    def __init__(self, *, spec: DeployerSpec, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec, self.scenario = spec, scenario
        known = SecretRegistry()
        known.add_secrets(spec.secrets)  # from the start: whatever fails before the run's own mask is set
        self.log = ScenarioLog(mask=known.mask)

    def runtest(self) -> None:
        session = self.config.stash[STATE].session
        try:
            later = self._later()
            longer = held_by(self.scenario, later)
            session.run_scenario(self.spec, self.scenario, self.log, within=longer, to_come=tuple(later))
        except NoPreviousVersion as exc:  # a first version has nothing to roll back to
            pytest.skip(self.log.mask(f"{self.spec.name}: no previous version to roll back to: {exc}"))
        except NotApplicable as exc:
            pytest.skip(self.log.mask(f"{self.spec.name}: {exc}"))
        finally:  # masked again with every secret the run has learned by now (a previous version's, say)
            mask = self.log.mask
            self.user_properties.extend((name, mask_property(name, value, mask)) for name, value in self.log.properties)
            for title, text in self.log.sections:
                self.add_report_section("call", mask(title), mask(text))

    def _later(self) -> list[Scenario]:
        """The scenarios of this deployer's later items, which this process runs after this one: one may hold
        this one's steps, others may start beside it. None under xdist, where another worker may take them."""
        if hasattr(self.config, "workerinput"):
            return []
        items = self.session.items
        later = items[items.index(self) + 1 :] if self in items else []
        return [item.scenario for item in later if isinstance(item, ScenarioItem) and item.spec.path == self.spec.path]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        where = f"{self.spec.name} / {self.scenario.name}"
        if isinstance(excinfo.value, (StepFailed, HarnessError)):
            return _report(self.path, self.log.mask(f"{where}: {excinfo.value}"))
        if isinstance(excinfo.value, docker.errors.APIError):  # the engine refused: one line, not a traceback
            return _report(self.path, self.log.mask(f"{where}: {engine_error(excinfo.value)}"))
        shown = super().repr_failure(excinfo, style)
        text = str(shown)
        masked = self.log.mask(text)
        return shown if masked == text else masked  # a traceback: as pytest shows it, unless it holds a secret

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.spec.name}::{self.scenario.name}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """An error before or after a scenario's run (pytest's own text, not :meth:`ScenarioItem.repr_failure`),
    masked as its run is."""
    report = yield
    if isinstance(item, ScenarioItem) and report.when != "call" and report.failed:
        report.longrepr = item.log.mask(str(report.longrepr))
    return report


def _report(path: Path, text: str) -> ReprExceptionInfo:
    """A verdict as pytest shows a native traceback: the whole text (a Job's log, a diff) once in the failures
    section and JUnit's body; its first line as the message of the short summary, which in CI is not cut short,
    and of JUnit's ``message``. pytest-xdist carries this shape from workers as it is."""
    lines = text.splitlines() or [""]
    return ReprExceptionInfo(
        reprtraceback=ReprTracebackNative([f"{line}\n" for line in lines]),
        reprcrash=ReprFileLocation(str(path), 0, lines[0]),
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[STATE]
    if not state.specs:
        return
    lines, kept = [], False
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if report.when == "call" and is_scenario(report.user_properties):
                lines += summary_lines(outcome, report.nodeid, report.user_properties)
                kept = kept or any(key == SHELL for key, _ in report.user_properties)
    if kept:
        lines.append("kept machines stay until `deployer-harness sweep --kept` (or `make sweep`) removes them")
    if in_github_actions():  # each failure marked on its deployer's spec, in the pull request's files
        for result in sorted(state.results.values(), key=lambda item: item.nodeid):
            title = f"{result.deployer} / {result.scenario}"
            if result.outcome in ("failed", "error"):
                file = str(config.rootpath / result.nodeid.split("::")[0])
                lines.append(error_annotation(result.message or result.outcome, file=file, title=title))
            lines += lint_annotations(result, title)
    if lines:
        terminalreporter.write_sep("=", f"{PROJECT} summary")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(tryfirst=True)  # before the terminal prints the traceback
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C (or the first SIGTERM): a SIGTERM that follows does not cut the cleanup short."""
    hold_all()
    drop_lineless_frames(excinfo.value)


class ResultsCollector:
    """Each item's result, as the controller (or a run without xdist) receives it: for the run's reports."""

    def __init__(self, state: State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = item_result(report)
        known = self.state.results.get(result.nodeid) if result is not None else None
        if result is not None and (known is None or known.outcome == "passed"):  # a teardown error after a failure
            self.state.results[result.nodeid] = result  # does not replace it


def _write_reports(config: pytest.Config, state: State) -> None:
    items = sorted(state.results.values(), key=lambda item: item.nodeid)
    session = state.session
    run = {
        "id": session.ownership.run_id,
        "engine": session.describe(),
        "deployers": [spec.name for spec in state.specs.values()],
        "images": {name: {"ref": image.ref, "id": image.id} for name, image in session.images.items()},
    }
    write_reports(config, run, items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Controller: whatever this run made and did not remove (an interrupt, a crash in a worker) goes now."""
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    state.signals.hold()  # the cleanup below is not cut short by a SIGTERM
    if not state.specs or hasattr(config, "workerinput"):
        state.session.close()
        return
    try:
        _write_reports(config, state)
    finally:
        state.session.finish()
