"""``deployer-harness init --ci github``: a GitHub Actions workflow for a repository of deployers that tests the
image it is about to push, and pushes that same image only when the gate is green.

1. build each deployer's image with buildx, ``load: true`` (nothing is pushed yet);
2. ``pytest --deployer NAME --image NAME=<that image>``, with the JUnit, JSON reports and the step summary;
3. push the image tested (the same ID, so the same digest) when the gate passed on the default branch.

The machine images are cached between runs (``deployer-harness images save|load``, keyed by ``images key``), and
the checkout has its whole history, which rollback reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_PATH = Path(".github/workflows/deployer-gate.yml")
CACHE_ARCHIVE = "~/.cache/deployer-harness/machines.tar"
_KEY = 'echo "key=$(deployer-harness images key)" >> "$GITHUB_OUTPUT"'
_ON_DEFAULT_BRANCH = (
    "success() && github.event_name == 'push' && github.ref == format('refs/heads/{0}', "
    "github.event.repository.default_branch)"
)


def gate_workflow(deployers: list[str], registry: str, install: str) -> dict[str, object]:
    image = f"{registry}/${{{{ matrix.deployer }}}}:${{{{ github.sha }}}}"
    steps: list[dict[str, object]] = [
        {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}},  # rollback reads the previous version
        {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        {"name": "Install the harness", "run": f"sudo apt-get install -y debootstrap\npip install {install}"},
        {"name": "Cache key of the machine images", "id": "machines", "run": _KEY},
        {
            "name": "Restore the machine images",
            "id": "restore",
            "uses": "actions/cache/restore@v4",
            "with": {"path": CACHE_ARCHIVE, "key": "${{ steps.machines.outputs.key }}"},
        },
        {"name": "Load the machine images", "run": f"deployer-harness images load {CACHE_ARCHIVE}"},
        {"uses": "docker/setup-buildx-action@v3", "with": {"driver": "docker"}},  # builds land in the engine
        {
            "name": "Build the image (not pushed yet)",
            "uses": "docker/build-push-action@v6",
            "with": {"context": "deployers/${{ matrix.deployer }}", "load": True, "push": False, "tags": image},
        },
        {
            "name": "Gate: the image about to be pushed",
            "run": 'sudo -E env "PATH=$PATH" pytest --deployer ${{ matrix.deployer }} '
            f'--image "${{{{ matrix.deployer }}}}={image}" '
            "--junitxml=reports/junit.xml --deployer-json=reports/results.json",
        },
        {
            "name": "Save the machine images",
            "if": "always() && steps.restore.outputs.cache-hit != 'true'",
            "run": f"deployer-harness images save {CACHE_ARCHIVE}",
        },
        {
            "name": "Keep the machine images for the next run",
            "if": "always() && steps.restore.outputs.cache-hit != 'true'",
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
        {"name": "Push the image that passed", "if": _ON_DEFAULT_BRANCH, "run": f'docker push "{image}"'},
    ]
    return {
        "name": "deployer gate",
        "on": {"pull_request": {}, "push": {"branches": ["main"]}},
        "permissions": {"contents": "read", "packages": "write"},
        "jobs": {
            "gate": {
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 60,
                "strategy": {"fail-fast": False, "matrix": {"deployer": deployers}},
                "steps": steps,
            }
        },
    }


def write_workflow(path: Path, deployers: list[str], registry: str, install: str) -> Path:
    """The workflow as YAML (``on`` stays a key, not YAML 1.1's boolean)."""
    text = yaml.safe_dump(gate_workflow(deployers, registry, install), sort_keys=False, width=120)
    header = "# Written by `deployer-harness init --ci github`: the gate tests the image it is about to push.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + text.replace("'on':", "on:", 1))
    return path
