"""The harness on a Docker engine that reports cgroup v2, as GitHub's runners, Docker Desktop and most Linux hosts
do: a second engine started by the fixture (tools/cgroup-v2-engine.sh), beside the default one, and removed
afterwards. A Job deployer on debian-12, one on pve-8 that downloads from the world, and a DaemonSet on the
simulated cluster (pods inside k8s-node machines) pass there, and the header says v2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pytest_runs import REPO, TEST_DEPLOYERS, leftovers, run_id

from harness.images.catalog import Catalog, ImageBuilder
from harness.testbed import MIRROR_KIND, WORLD_KIND
from harness.workbench import Workbench

SCRIPT = REPO / "tools" / "cgroup-v2-engine.sh"
KINDS = ("rootfs", "debian-12", "pve-8", "k8s-node", "deployer-base", WORLD_KIND, MIRROR_KIND)


@pytest.fixture(scope="module")
def v2_engine(bench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The engine's socket, holding the machine images of the default engine (moved with save and load: an image
    is built once, whichever engine runs it)."""
    folder = tmp_path_factory.mktemp("cgroup-v2")
    # One engine per xdist worker, each with a bridge and addresses of its own.
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    own = {
        **os.environ,
        "HARNESS_V2_BRIDGE": f"dhv2br{worker}",
        "HARNESS_V2_GATEWAY": f"10.{198 - 2 * worker}.0.1/24",
        "HARNESS_V2_POOL": f"10.{197 - 2 * worker}.0.0/16",
    }
    had_docker0 = "docker0" in _bridges()
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(folder)], capture_output=True, text=True, check=False, timeout=120, env=own
        )
        assert started.returncode == 0, started.stdout + started.stderr
        host = started.stdout.strip()
        builder = ImageBuilder(bench.client, Catalog(), lambda line: None)
        tags = [builder.ensure(kind) for kind in KINDS] + ["deployer-harness/deployer-base:bookworm"]
        with subprocess.Popen(["docker", "save", *tags], stdout=subprocess.PIPE) as save:
            assert save.stdout is not None
            loaded = subprocess.run(["docker", "-H", host, "load", "-q"], stdin=save.stdout, capture_output=True)
            save.stdout.close()  # a load that ended early ends the save too
            assert save.wait(timeout=600) == 0 and loaded.returncode == 0, loaded.stderr
        yield host
    finally:
        subprocess.run([str(SCRIPT), "stop", str(folder)], check=False, timeout=120, env=own)
        shutil.rmtree(folder, ignore_errors=True)
    # The default engine's bridge is untouched: its containers (the package mirror) still get their network.
    assert "docker0" in _bridges() or not had_docker0, "the default engine's docker0 is gone"


def _bridges() -> set[str]:
    shown = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True)
    return {line.split(": ")[1].split("@")[0] for line in shown.stdout.splitlines() if ": " in line}


def on_v2(host: str, *args: str) -> tuple[int, str]:
    environment = {**os.environ, "DOCKER_HOST": host, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_engine_reports_cgroup_v2(v2_engine: str) -> None:
    info = subprocess.run(
        ["docker", "-H", v2_engine, "info", "--format", "{{.CgroupVersion}}"], capture_output=True, text=True
    )
    assert info.stdout.strip() == "2"


def nothing_left(host: str, output: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", host)  # on the engine it ran on
    assert leftovers(run_id(output)) == []


def test_a_job_deployer_converges_and_stays_converged_on_cgroup_v2(
    v2_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = on_v2(v2_engine, "--deployers-dir", str(TEST_DEPLOYERS), "--deployer", "hello", "-m", "idempotency")
    assert code == 0, output
    assert "cgroup v2" in output  # the header says which version ran
    assert "1 passed" in output
    nothing_left(v2_engine, output, monkeypatch)


def test_a_pve8_deployer_that_downloads_from_the_world_passes_on_cgroup_v2(
    v2_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = on_v2(
        v2_engine, "--deployers-dir", str(REPO / "deployers"), "--deployer", "pve-exporter", "-m", "converge"
    )
    assert code == 0, output
    assert "1 passed" in output and "cgroup v2" in output
    nothing_left(v2_engine, output, monkeypatch)


def test_a_daemonset_on_the_simulated_cluster_passes_on_cgroup_v2(
    v2_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = on_v2(
        v2_engine, "--deployers-dir", str(REPO / "deployers"), "--deployer", "node-configurator", "-m", "converge"
    )
    assert code == 0, output
    assert "1 passed" in output and "cgroup v2" in output
    nothing_left(v2_engine, output, monkeypatch)


def test_doctor_and_the_probe_see_v2_inside_a_container_of_that_engine(v2_engine: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "doctor", "--repo", str(REPO)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_HOST": v2_engine},
        timeout=120,
    )
    assert "cgroup: v2 (in a container of this engine)" in done.stdout, done.stdout + done.stderr
