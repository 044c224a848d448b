"""`deployer-harness init --ci github`: a workflow GitHub's schema accepts, that builds without pushing, gates the
image built, and pushes that same image only when the gate passed on the default branch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main

CHECK = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))


def written(tmp_path: Path) -> Path:
    (tmp_path / "deployers" / "pve-nut").mkdir(parents=True)
    (tmp_path / "deployers" / "pve-nut" / "harness.yaml").write_text("machines: {}\n")
    output = tmp_path / ".github" / "workflows" / "gate.yml"
    code = main(["init", "--ci", "github", "--deployers-dir", str(tmp_path / "deployers"), "--output", str(output)])
    assert code == 0
    return output


def test_the_workflow_is_valid_for_github(tmp_path: Path) -> None:
    """Validated offline against GitHub's workflow schema, as check-jsonschema vendors it (SchemaStore's)."""
    checked = subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", str(written(tmp_path))], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_gate_tests_the_image_it_pushes_and_pushes_only_when_green(tmp_path: Path) -> None:
    workflow = yaml.safe_load(written(tmp_path).read_text())
    job = workflow["jobs"]["gate"]
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    assert job["strategy"]["matrix"]["deployer"] == ["pve-nut"]
    assert steps["actions/checkout@v4"]["with"]["fetch-depth"] == 0  # rollback reads the history
    build = steps["Build the image (not pushed yet)"]["with"]
    assert build["load"] is True and build["push"] is False
    gate = steps["Gate: the image about to be pushed"]["run"]
    assert f'--image "${{{{ matrix.deployer }}}}={build["tags"]}"' in gate
    assert "--deployer-json=reports/" in gate and "--deployer-html=reports/" in gate  # uploaded with the JUnit
    push = steps["Push the image that passed"]
    assert push["run"] == f'docker push "{build["tags"]}"' and push["if"].startswith("success() && ")
    assert "images load" in steps["Load the machine images"]["run"]
    assert steps["Restore the machine images"]["with"]["key"] == "${{ steps.machines.outputs.key }}"


def test_an_existing_workflow_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = written(tmp_path)
    again = main(["init", "--ci", "github", "--deployers-dir", str(tmp_path / "deployers"), "--output", str(output)])
    assert again == 2 and "exists: it is left as it is" in capsys.readouterr().err


def test_the_project_s_own_workflow_is_valid_and_caches_the_machine_images() -> None:
    own = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ci.yml"
    checked = subprocess.run([CHECK, "--builtin-schema", "vendor.github-workflows", str(own)], capture_output=True)
    assert checked.returncode == 0, checked.stdout
    runs = " ".join(str(step.get("run", "")) for step in yaml.safe_load(own.read_text())["jobs"]["test"]["steps"])
    assert "deployer-harness images load" in runs and "deployer-harness images save" in runs and ".ci/run" in runs
