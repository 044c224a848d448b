"""Molecule against the harness, on the same Ansible role, in one run, interleaved.

    python benchmarks/molecule_side_by_side.py [--runs 3]

The role is deployers/ansible-nut/roles/nut. Molecule tests it (benchmarks/molecule: create, converge, idempotence,
verify, destroy) on a container of the harness's own pve-8 machine image, with Molecule's docker driver; the harness
runs ansible-nut's idempotency scenario (apply, verify, apply again, compare the host's state) on a machine of the
same image, the role run by ansible-playbook in the deployer's Job. Each runs ``--runs`` times, alternately; the
medians and their ratio are printed, with the harness's own share of its runs (the wall time when neither the
deployer's pods nor its tests ran) and the deployer's floor (what its two ansible-playbook runs took in its pods).

Molecule lives in a virtual environment of its own, made on first use (benchmarks/.molecule-venv): molecule,
molecule-plugins[docker], and the `ansible` package for its community.docker collection (Galaxy is not reachable
here; PyPI is). Results go to benchmarks/results/molecule-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from typing import Any

from timeline import REPO, timed_pytest

from harness.engine.sweep import sweep
from harness.workbench import Workbench

SCENARIO = REPO / "benchmarks" / "molecule"
VENV = REPO / "benchmarks" / ".molecule-venv"
PACKAGES = ["molecule==26.10.0", "molecule-plugins[docker]==26.10.12", "ansible==12.3.0"]
PLATFORM = "nut-molecule-pve1"  # molecule.yml's platform: removed after each run, whatever happened


def molecule_env() -> dict[str, str]:
    if not (VENV / "bin" / "molecule").exists():
        print(f"making {VENV} ({', '.join(PACKAGES)})", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *PACKAGES], check=True)
    return {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}", "MOLECULE_PLATFORM_NAME": PLATFORM}


def molecule_run(env: dict[str, str]) -> float:
    begun = time.perf_counter()
    try:
        result = subprocess.run(["molecule", "test"], cwd=SCENARIO, env=env, capture_output=True, text=True)
    finally:
        subprocess.run(["docker", "rm", "-f", PLATFORM], capture_output=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit("molecule test failed")
    return time.perf_counter() - begun


def harness_run(bench: Workbench) -> dict[str, float]:
    """ansible-nut's idempotency scenario: its wall time, the harness's share of it, and the deployer's floor."""
    run = timed_pytest(bench, ["--deployer", "ansible-nut", "-m", "idempotency"])
    return {"wall_s": run.wall_s, "harness_share": run.harness_share, "deployer_pods_s": run.pod_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each, alternately (default: 3)")
    args = parser.parse_args()
    bench = Workbench(progress=lambda line: print(line, file=sys.stderr))
    try:
        env = molecule_env()
        env |= {"PVE_IMAGE": bench.machine_image("pve-8"), "NUT_ROLES_PATH": str(REPO / "deployers/ansible-nut/roles")}
        subprocess.run([sys.executable, "-m", "pytest", "--deployer", "ansible-nut", "--co", "-q"], cwd=REPO,
                       capture_output=True)  # fmt: skip  # the deployer's image built before anything is timed
        molecule: list[float] = []
        harness: list[dict[str, float]] = []
        for number in range(args.runs):
            molecule.append(molecule_run(env))
            harness.append(harness_run(bench))
            print(f"run {number + 1}: molecule {molecule[-1]:.1f} s, harness {harness[-1]['wall_s']:.1f} s",
                  file=sys.stderr)  # fmt: skip
    finally:
        sweep(bench.client, run_id=bench.ownership.run_id)
        bench.close()
    report(molecule, harness)


def report(molecule: list[float], harness: list[dict[str, float]]) -> None:
    def median(key: str) -> float:
        return statistics.median(run[key] for run in harness)

    results: dict[str, Any] = {
        "runs": len(molecule),
        "molecule_test_s": statistics.median(molecule),
        "harness_idempotency_s": median("wall_s"),
        "molecule_vs_harness": statistics.median(molecule) / median("wall_s"),
        "harness_share_of_its_run": median("harness_share"),
        "deployer_pods_s": median("deployer_pods_s"),
        "each_molecule_s": molecule,
        "each_harness_s": [run["wall_s"] for run in harness],
    }
    (REPO / "benchmarks" / "results").mkdir(exist_ok=True)
    name = REPO / "benchmarks" / "results" / f"molecule-{time.strftime('%Y%m%dT%H%M%S')}.json"
    name.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
