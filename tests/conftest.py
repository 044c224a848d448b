"""Shared fixtures: the test deployers and, for integration tests, one workbench per process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.deployer.spec import DeployerSpec, load_spec
from harness.engine.client import connect
from harness.engine.sweep import sweep
from harness.images.catalog import Catalog
from harness.workbench import Workbench

TEST_DEPLOYERS = Path(__file__).parent / "deployers"
# The test deployers' own checks run inside the harness, against its machines, never as tests of this project
# (testinfra would point them at this computer).
collect_ignore = ["deployers"]
REPO = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def machine_kinds() -> list[str]:
    return Catalog().names(hosts_only=True)


@pytest.fixture(scope="session")
def test_spec(machine_kinds: list[str]):  # type: ignore[no-untyped-def]
    def load(name: str) -> DeployerSpec:
        return load_spec(TEST_DEPLOYERS / name, machine_kinds)

    return load


@pytest.fixture(scope="session")
def bench() -> Iterator[Workbench]:
    """Real Docker, real images: an engine must answer (CI installs one), or the test fails."""
    workbench = Workbench()
    yield workbench
    sweep(connect(), run_id=workbench.ownership.run_id)
    workbench.close()
