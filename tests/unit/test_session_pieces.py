"""The pieces a run is made of, without Docker: the secret registry, the report lines, engine errors, the
workload factory and the session's hand-over to xdist workers."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.checks.report import DIFF, DIFF_DATA, SCENARIO, ScenarioLog, StepReport, summary_lines
from harness.deployer.spec import DeployerSpec
from harness.drift.options import DriftOptions
from harness.engine.probe import Capabilities
from harness.errors import HarnessError, engine_error
from harness.k8s.manifest import load_manifest
from harness.secrets import SecretRegistry
from harness.session import RunSession
from harness.testbed import Testbed
from harness.workbench import Workbench
from harness.workloads import make_workload, runs_on_kind
from harness.workloads.job import JobWorkload
from harness.workloads.sim import SimDaemonSet


def test_the_registry_masks_what_it_learns_later_in_every_written_form() -> None:
    registry = SecretRegistry(["first-s3cret"])
    assert registry.mask("x first-s3cret y") == "x ******** y"
    later = "late/s3cret value"
    assert registry.mask(later) == later  # not known yet
    registry.add_secrets({"drift-check": {"TOKEN": later}})
    for written in (later, base64.b64encode(later.encode()).decode(), "late%2Fs3cret%20value"):
        assert registry.mask(f"<{written}>") == "<********>"
    assert registry.values == ["first-s3cret", later]


def test_the_log_masks_every_property_and_section_of_a_step() -> None:
    log = ScenarioLog(mask=SecretRegistry(["hunter22"]).mask)
    log.add(StepReport([("apply1", "current: token hunter22")], [("log", "hunter22\nok")], failure="x"))
    assert log.properties == [("apply1", "current: token ********")]
    assert log.sections == [("log", "********\nok")]


def test_summary_lines_print_diffs_on_lines_of_their_own_and_keep_data_for_junit() -> None:
    properties = [(SCENARIO, "idempotency"), ("apply1", "ok"), (DIFF, "a | 1 +\nb | 2 -"), (DIFF_DATA, "[]")]
    lines = summary_lines("failed", "deployers/x/harness.yaml::idempotency", properties)
    assert lines == ["FAILED  deployers/x/harness.yaml::idempotency  apply1: ok", "        a | 1 +", "        b | 2 -"]
    assert summary_lines("passed", "n", [(DIFF, "no change")]) == ["PASSED  n  "]


def test_an_engine_refusal_is_one_line_naming_the_request_and_the_fix() -> None:
    request = SimpleNamespace(method="POST", url="http+docker://localhost/v1.41/containers/abc123/start")
    refusal = SimpleNamespace(explanation="cannot start: no such device", response=SimpleNamespace(request=request))
    error = engine_error(refusal)  # type: ignore[arg-type]
    assert str(error).splitlines()[0] == (
        "the Docker engine refused a request to POST containers/abc123/start: cannot start: no such device"
    )
    assert "fix: see `docker info`" in str(error)


@pytest.fixture
def bench() -> Iterator[Workbench]:
    workbench = Workbench()  # no engine needed: nothing here talks to Docker
    yield workbench
    workbench.close()


def test_the_factory_picks_the_workload_from_the_manifest(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    for name, kind in (("hello", JobWorkload), ("ds-probe", SimDaemonSet)):
        spec: DeployerSpec = test_spec(name)
        workload = make_workload(spec, load_manifest(spec.manifest), Testbed(bench, name), SecretRegistry(), None)
        assert isinstance(workload, kind)
        assert runs_on_kind(spec, "kind") is (kind is SimDaemonSet)
        assert not runs_on_kind(spec, "sim")


def test_a_spec_whose_machines_do_not_fit_the_manifest_is_refused(bench: Workbench, test_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    job_spec, ds_spec = test_spec("hello"), test_spec("ds-probe")
    with pytest.raises(HarnessError, match=r"`cluster\.nodes` is missing"):
        make_workload(job_spec, load_manifest(ds_spec.manifest), Testbed(bench, "x"), SecretRegistry(), None)
    with pytest.raises(HarnessError, match="`cluster` is given, but the manifest holds a Job"):
        make_workload(ds_spec, load_manifest(job_spec.manifest), Testbed(bench, "x"), SecretRegistry(), None)


def test_workers_get_the_session_as_plain_values() -> None:
    caps = Capabilities("28.2", 2, False, True)
    session = RunSession(keep=True, cluster="sim", capabilities=caps, build_errors={"broken": "no Dockerfile"})
    session.drift = DriftOptions("full", 3)
    data = session.to_data()
    again = RunSession.from_data(data)
    assert again.to_data() == data
    assert again.drift == DriftOptions("full", 3)
    assert (again.ownership.run_id, again.capabilities, again.keep) == (session.ownership.run_id, caps, True)
    assert session.ownership.keep and again.ownership.keep  # kept machines are labelled so, in every worker
    assert session.describe().startswith("docker 28.2, cgroup v2, unprivileged")


@pytest.mark.parametrize(("tier", "lanes", "fix"), [("nightly", 1, "skip, quick, full"), ("full", -1, "count of 1")])
def test_a_bad_drift_tier_or_lane_count_is_refused_with_the_fix(tier: str, lanes: int, fix: str) -> None:
    with pytest.raises(HarnessError, match=fix):
        DriftOptions(tier, lanes)


def test_an_unknown_cluster_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(HarnessError, match="use one of sim, kind"):
        RunSession(cluster="minikube")
