"""The pytest plugin: ``pytest --deployer NAME`` turns each scenario into an item per deployer.

A thin layer: options paired with ini settings, state in ``config.stash``, and
the work done by the library (workbench, deployment, scenario steps).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import PROJECT
from harness.cluster import kind
from harness.deployer.discovery import resolve
from harness.deployer.spec import SPEC_FILE, DeployerSpec, load_spec
from harness.deployment import MIRROR_KIND, Deployment
from harness.engine.client import connect
from harness.engine.labels import Ownership
from harness.engine.locks import build_lock
from harness.engine.probe import Capabilities
from harness.engine.sweep import sweep
from harness.errors import EngineUnavailable, HarnessError, NoPreviousVersion
from harness.images.catalog import Catalog
from harness.scenario.model import Scenario, scenarios_for
from harness.scenario.steps import ScenarioLog, StepFailed, run_steps
from harness.workbench import Workbench

CLUSTERS = ("sim", "kind")
RUN_ID_INPUT = "deployer_harness_run_id"
CAPS_INPUT = "deployer_harness_capabilities"
KIND_INPUT = "deployer_harness_kind_clusters"
BUILD_ERRORS_INPUT = "deployer_harness_build_errors"


@dataclass
class State:
    specs: dict[Path, DeployerSpec] = field(default_factory=dict)  # by spec file path
    keep: bool = False
    ownership: Ownership = field(default_factory=Ownership)
    bench: Workbench | None = None
    build_errors: dict[str, str] = field(default_factory=dict)
    reporter: Any = None
    cluster: str = "sim"
    kind_clusters: dict[str, kind.KindCluster] = field(default_factory=dict)  # by deployer, made by the controller

    def workbench(self) -> Workbench:
        if self.bench is None:
            self.bench = Workbench(progress=self.progress, ownership=self.ownership, keep=self.keep)
        return self.bench

    def progress(self, line: str) -> None:
        if self.reporter is not None:
            self.reporter.write_line(f"[{PROJECT}] {line}")


STATE = pytest.StashKey[State]()


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
        "--keep",
        action="store_true",
        default=None,
        help="leave the machines running after the run and print how to get a shell in each",
    )
    group.addoption(
        "--cluster",
        choices=CLUSTERS,
        default=None,
        help="where DaemonSet deployers run: sim (simulated nodes, the default) or kind (needs kind and kubectl)",
    )
    parser.addini("deployers_dir", "where deployers live, relative to the rootdir", default="deployers")
    parser.addini("deployer_cluster", "cluster backend for DaemonSets: sim or kind (like --cluster)", default="sim")
    parser.addini("deployer_keep", "leave machines running (like --keep)", type="bool", default=False)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for scenario in scenarios_for():
        config.addinivalue_line("markers", f"{scenario.name}: the {scenario.name} scenario ({scenario.description})")
    keep = config.getoption("keep")
    state = State(keep=bool(config.getini("deployer_keep") if keep is None else keep))
    state.cluster = config.getoption("cluster") or config.getini("deployer_cluster")
    if state.cluster not in CLUSTERS:
        raise pytest.UsageError(
            f"deployer_cluster = {state.cluster!r} in the ini file: use one of {', '.join(CLUSTERS)}"
        )
    workerinput = getattr(config, "workerinput", None)
    run_id = workerinput.get(RUN_ID_INPUT) if workerinput is not None else None
    state.ownership = Ownership(run_id=run_id, keep=state.keep) if run_id else Ownership(keep=state.keep)
    config.stash[STATE] = state
    if workerinput is not None:
        state.build_errors.update(workerinput.get(BUILD_ERRORS_INPUT, {}))
        state.kind_clusters = {n: kind.KindCluster(**data) for n, data in workerinput.get(KIND_INPUT, {}).items()}
    if workerinput is not None and CAPS_INPUT in workerinput:
        state.workbench().capabilities = Capabilities(**workerinput[CAPS_INPUT])
    names: list[str] = config.getoption("deployer")
    if not names:
        return
    # The option is relative to where pytest was started, the ini setting to the rootdir; both are
    # normalised as pytest normalises collection paths, or the spec files would never match.
    option = config.getoption("deployers_dir")
    base = config.invocation_params.dir if option else config.rootpath
    root = Path(os.path.abspath(base / (option or config.getini("deployers_dir"))))
    registered = {s.name for s in scenarios_for()}
    try:
        kinds = Catalog().names(hosts_only=True)
        for folder in resolve(root, names):
            spec = load_spec(folder, kinds)
            state.specs[spec.path] = spec
            for scenario in scenarios_for(spec.folder):  # a deployer's own scenarios get markers too
                if scenario.name not in registered:
                    registered.add(scenario.name)
                    config.addinivalue_line("markers", f"{scenario.name}: {scenario.description or 'scenario'}")
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    spec_files = [str(path) for path in state.specs]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args += spec_files
    else:  # no paths given: run the deployers, not the project's testpaths
        config.args[:] = spec_files


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: workers share the run id, so the controller can clean up after all of them."""
    state = node.config.stash[STATE]
    node.workerinput[RUN_ID_INPUT] = state.ownership.run_id
    node.workerinput[BUILD_ERRORS_INPUT] = state.build_errors  # a broken Dockerfile is built once, not per item
    node.workerinput[KIND_INPUT] = {name: cluster.as_data() for name, cluster in state.kind_clusters.items()}
    if state.bench is not None and "capabilities" in state.bench.__dict__:  # probed once, for every worker
        node.workerinput[CAPS_INPUT] = dataclasses.asdict(state.bench.capabilities)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE]
    if not state.specs:
        return []
    if state.bench is not None and "capabilities" in state.bench.__dict__:  # probed in sessionstart
        engine = state.bench.capabilities.describe()
    else:
        try:
            info = connect().info()
            engine = f"docker {info.get('ServerVersion')}, cgroup v{info.get('CgroupVersion') or 1}"
        except EngineUnavailable:
            engine = "no Docker engine"
    names = ", ".join(spec.name for spec in state.specs.values())
    return [f"{PROJECT}: {engine}; cluster {state.cluster}; deployers: {names}; run {state.ownership.run_id}"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Controller (or a run without xdist): sweep dead runs, then build every image once."""
    config = session.config
    state = config.stash[STATE]
    if not state.specs or hasattr(config, "workerinput"):
        return
    state.reporter = config.pluginmanager.get_plugin("terminalreporter")
    try:
        client = connect()
    except EngineUnavailable as exc:
        raise pytest.UsageError(str(exc)) from None
    swept = sweep(client)
    if swept:
        state.progress(str(swept))
    bench = state.workbench()
    for spec in state.specs.values():
        try:
            for machine in spec.machines:
                bench.machine_image(machine.kind)
            if spec.mirror:
                bench.machine_image(MIRROR_KIND)
            bench.deployer_image(spec)
        except HarnessError as exc:
            state.build_errors[spec.name] = str(exc)
    try:
        privileged: bool | None = bench.capabilities.privileged  # probed now, once: workers receive the result
    except HarnessError as exc:
        state.progress(str(exc))
        privileged = None
    if state.cluster == "kind" and privileged is not None and kind.unavailable(privileged) is None:
        for number, spec in enumerate(s for s in state.specs.values() if s.workload == "daemonset"):
            name = f"dh-{state.ownership.run_id[:8]}-{number}"
            state.progress(f"creating kind cluster {name} for {spec.name}")
            try:
                state.kind_clusters[spec.name] = kind.KindCluster.create(name, spec.nodes, bench.workdir / "kind")
            except HarnessError as exc:
                state.build_errors[spec.name] = f"kind cluster {name}: {exc}"
    state.reporter = None  # progress during tests would break the report lines


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
        for scenario in scenarios:
            if scenario.workload not in ("any", spec.workload):
                continue
            item = ScenarioItem.from_parent(self, name=scenario.name, spec=spec, scenario=scenario)
            item.add_marker(scenario.name)
            items.append(item)
        return items


class ScenarioItem(pytest.Item):
    def __init__(self, *, spec: DeployerSpec, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec, self.scenario = spec, scenario

    def runtest(self) -> None:
        state = self.config.stash[STATE]
        if self.spec.name in state.build_errors:
            raise HarnessError(state.build_errors[self.spec.name])
        on_kind = None
        if self.spec.workload == "daemonset" and state.cluster == "kind":
            reason = kind.unavailable(state.workbench().capabilities.privileged)
            if reason:
                pytest.skip(reason)
            on_kind = state.kind_clusters.get(self.spec.name)
            if on_kind is None:
                raise HarnessError(
                    f"no kind cluster was made for {self.spec.name}", fix="see the session's first lines"
                )
        log = ScenarioLog()
        log.record("scenario", self.scenario.name)
        started = time.monotonic()
        try:
            # The scenarios of one deployer share its kind cluster: one at a time, also across xdist workers.
            shared = build_lock(f"kind-{on_kind.name}") if on_kind is not None else contextlib.nullcontext()
            with shared, Deployment(state.workbench(), self.spec, keep=state.keep, kind=on_kind) as deployment:
                log.record("machines_ready", f"{time.monotonic() - started:.1f} s")
                try:
                    run_steps(deployment, self.scenario.steps, log)
                except NoPreviousVersion as exc:  # a first version has nothing to roll back to
                    pytest.skip(f"{self.spec.name}: no previous version to roll back to: {exc}")
                finally:
                    if state.keep:
                        for hint in deployment.shell_hints():
                            log.record("shell", hint)
        finally:
            self.user_properties.extend(log.properties)
            for title, text in log.sections:
                self.add_report_section("call", title, text)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, (StepFailed, HarnessError)):
            return f"{self.spec.name} / {self.scenario.name}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.spec.name}::{self.scenario.name}"


# Printed on lines of their own (diffs, findings, shell hints), or not at all (data for JUnit readers).
_OWN_LINES = (
    "scenario",
    "diff",
    "diff_data",
    "finding",
    "shell",
    "drift_matrix",
    "drift_data",
    "leftover",
    "rollback_data",
)
_PRINTED = ("diff", "finding", "drift_matrix", "leftover", "shell")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash[STATE]
    if not state.specs:
        return
    lines = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if report.when != "call" or not any(k == "scenario" for k, _ in report.user_properties):
                continue
            props = ", ".join(f"{k}: {v}" for k, v in report.user_properties if k not in _OWN_LINES)
            lines.append(f"{outcome.upper():7} {report.nodeid}  {props}")
            for key, value in report.user_properties:
                if key in _PRINTED and value != "no change":
                    lines += [f"        {line}" for line in str(value).splitlines()]
    if state.keep:
        lines.append("kept machines stay until `deployer-harness sweep --kept` (or `make sweep`) removes them")
    if lines:
        terminalreporter.write_sep("=", f"{PROJECT} summary")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Controller: whatever this run made and did not remove (an interrupt, a crash in a worker) goes now."""
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None or not state.specs or hasattr(config, "workerinput"):
        if state is not None and state.bench is not None:
            state.bench.close()
        return
    if not state.keep:
        for cluster in state.kind_clusters.values():  # kind's containers carry kind's labels, not ours
            with contextlib.suppress(HarnessError):
                cluster.delete()
        with contextlib.suppress(EngineUnavailable):
            sweep(connect(), run_id=state.ownership.run_id)
    if state.bench is not None:
        state.bench.close()
