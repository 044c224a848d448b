"""A deployer whose `manifest:` is a kustomize overlay: rendered by the harness's subset and by kustomize itself
(when this machine has it), the header says which, and the Job that runs is the rendered one (the overlay's
patched address, its merged ConfigMap under its hashed name, the prefixed Job)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_runs import junit_cases, leftovers, run, run_id

from harness.kustomize import tool


@pytest.mark.parametrize("renderer", ["builtin", "auto"])
def test_a_kustomized_deployer_converges(renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if renderer == "auto" and tool.installed() is None:
        pytest.skip("no kustomize here: the auto run would be the builtin run again")
    monkeypatch.setenv("DEPLOYER_HARNESS_KUSTOMIZE", renderer)
    report = tmp_path / "report.xml"
    code, output = run("--deployer", "kustomized", "-m", "converge or lint", f"--junitxml={report}")
    assert code == 0, output
    by = "the harness's subset of kustomize" if renderer == "builtin" else "kustomize 5"
    assert "manifest of kustomized: k8s/overlays/test/, rendered by " in output
    header = next(line for line in output.splitlines() if "manifest of kustomized" in line)
    assert by in header
    # the image's tag comes from the overlay's `images:`, and the finding points at that entry
    assert "k8s/overlays/test/kustomization.yaml:10: Job test-hello-deploy, container deploy: image " in output
    cases = junit_cases(report)["kustomized"]
    assert cases["outcome"] == ["passed"]
    assert leftovers(run_id(output)) == []
