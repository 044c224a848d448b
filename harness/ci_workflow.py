"""``deployer-harness init --ci github``: a GitHub Actions workflow for a repository of deployers that tests the
image it is about to push, and pushes that same image only when the gate is green.

1. build each deployer's image with buildx, ``load: true`` (nothing is pushed yet);
2. ``pytest --deployer NAME --image NAME=<that image>``, with the JUnit, JSON and HTML reports and the step summary;
3. push the image tested (the same ID, so the same digest) when the gate passed on the default branch.

The machine images are cached between runs (``deployer-harness images save|load``, keyed by ``images key``), and
the checkout has its whole history, which rollback reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_PATH = Path(".github/workflows/deployer-gate.yml")
CACHE_ARCHIVE = "${{ runner.temp }}/deployer-harness-machines.tar"  # not under HOME: the gate runs as root
_KEY = 'echo "key=$(deployer-harness images key)" >> "$GITHUB_OUTPUT"'
_ROOT = 'sudo -E env "PATH=$PATH"'  # debootstrap needs root; the runner's venv stays on PATH
_ON_DEFAULT_BRANCH = (
    "success() && github.event_name == 'push' && github.ref == format('refs/heads/{0}', "
    "github.event.repository.default_branch)"
)
_MISSED = "always() && steps.restore.outputs.cache-hit != 'true'"


def gate_workflow(deployers: list[str], registry: str, install: str, deployers_dir: str) -> dict[str, object]:
    return {
        "name": "deployer gate",
        "on": {"pull_request": {}, "push": {}},
        "permissions": {"contents": "read", "packages": "write"},
        "jobs": {
            "gate": {
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 60,
                "strategy": {"fail-fast": False, "matrix": {"deployer": deployers}},
                "steps": [*_setup_steps(registry, install), *_gate_steps(deployers_dir), *_after_steps(registry)],
            }
        },
    }


def _setup_steps(registry: str, install: str) -> list[dict[str, object]]:
    # Registries take lower-case names only; an owner may have capitals.
    image = f"{registry}/${{{{ matrix.deployer }}}}:${{{{ github.sha }}}}"
    name = f"echo \"IMAGE=$(echo '{image}' | tr '[:upper:]' '[:lower:]')\" >> \"$GITHUB_ENV\""
    return [
        {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}},  # rollback reads the previous version
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        {
            "name": "Install the harness",
            "run": f"sudo apt-get update -q && sudo apt-get install -y -q debootstrap\npip install {install}",
        },
        {"name": "The image's name", "run": name},
        {"name": "Cache key of the machine images", "id": "machines", "run": _KEY},
        {
            "name": "Restore the machine images",
            "id": "restore",
            "uses": "actions/cache/restore@v4",
            "with": {"path": CACHE_ARCHIVE, "key": "${{ steps.machines.outputs.key }}"},
        },
        {"name": "Load the machine images", "run": f"deployer-harness images load {CACHE_ARCHIVE}"},
    ]


def _gate_steps(deployers_dir: str) -> list[dict[str, object]]:
    return [
        {"uses": "docker/setup-buildx-action@v3", "with": {"driver": "docker"}},  # builds land in the engine
        {
            "name": "Build the image (not pushed yet)",
            "uses": "docker/build-push-action@v6",
            "with": {
                "context": f"{deployers_dir}/${{{{ matrix.deployer }}}}",
                "load": True,
                "push": False,
                "tags": "${{ env.IMAGE }}",
            },
        },
        {
            "name": "Gate: the image about to be pushed",
            "run": f"{_ROOT} pytest --deployers-dir {deployers_dir} --deployer ${{{{ matrix.deployer }}}} "
            '--image "${{ matrix.deployer }}=${{ env.IMAGE }}" '
            "--junitxml=reports/junit.xml --deployer-json=reports/results.json --deployer-html=reports/report.html",
        },
    ]


def _after_steps(registry: str) -> list[dict[str, object]]:
    return [
        {
            # Every machine image, built where this job did not need one: a partial archive would be a hit forever.
            "name": "Save the machine images",
            "if": _MISSED,
            "run": f"{_ROOT} deployer-harness images save --all {CACHE_ARCHIVE} && sudo chmod a+r {CACHE_ARCHIVE}",
        },
        {
            "name": "Keep the machine images for the next run",
            "if": _MISSED,
            "uses": "actions/cache/save@v4",
            "with": {"path": CACHE_ARCHIVE, "key": "${{ steps.machines.outputs.key }}"},
        },
        {
            "name": "Reports",
            "if": "always()",
            "uses": "actions/upload-artifact@v4",
            "with": {"name": "deployer-gate-${{ matrix.deployer }}", "path": "reports/"},
        },
        {
            "name": "Log in to the registry",
            "if": _ON_DEFAULT_BRANCH,
            "uses": "docker/login-action@v3",
            "with": {
                "registry": registry.split("/")[0],
                "username": "${{ github.actor }}",
                "password": "${{ secrets.GITHUB_TOKEN }}",
            },
        },
        {"name": "Push the image that passed", "if": _ON_DEFAULT_BRANCH, "run": 'docker push "${{ env.IMAGE }}"'},
    ]


def write_workflow(path: Path, deployers: list[str], registry: str, install: str, deployers_dir: str) -> Path:
    """The workflow as YAML (``on`` stays a key, not YAML 1.1's boolean)."""
    text = yaml.safe_dump(gate_workflow(deployers, registry, install, deployers_dir), sort_keys=False, width=120)
    header = "# Written by `deployer-harness init --ci github`: the gate tests the image it is about to push.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text.replace("'on':", "on:", 1))
    return path
