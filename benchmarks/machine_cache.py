"""What the machine-image cache saves a cold CI run: on an engine that has no image at all (a second engine, started
for the measure and removed after), building every machine image from the definitions (debootstrap, then each
kind's Dockerfile) against loading the archive `deployer-harness images save` wrote from the default engine.

    python benchmarks/machine_cache.py        # root; prints JSON: seconds of each, and their ratio
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.engine.client import connect  # noqa: E402
from harness.images.catalog import ROOTFS, Catalog, ImageBuilder  # noqa: E402
from harness.images.machine_cache import save  # noqa: E402

SCRIPT = REPO / "tools" / "cgroup-v2-engine.sh"  # any second engine would do; this one is at hand


def cold_engine(folder: Path) -> str:
    started = subprocess.run([str(SCRIPT), "start", str(folder)], capture_output=True, text=True, check=True)
    return started.stdout.strip()


def build_all(host: str) -> float:
    client = docker.DockerClient(base_url=host, timeout=600)
    builder = ImageBuilder(client, Catalog(), lambda line: None)
    started = time.monotonic()
    for name in [ROOTFS, *Catalog().names()]:
        builder.ensure(name)
    return time.monotonic() - started


def load_all(host: str, archive: Path) -> float:
    """What `deployer-harness images load` does on a cache hit: docker load of the archive."""
    started = time.monotonic()
    done = subprocess.run(["docker", "-H", host, "load", "-q", "-i", str(archive)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="machine-cache-") as scratch:
        archive = Path(scratch) / "machines.tar"
        saved = save(connect(), archive)  # what a warm run leaves in the cache
        results = {}
        for name, measure in (("build_seconds", build_all), ("load_seconds", lambda h: load_all(h, archive))):
            folder = Path(scratch) / name
            host = cold_engine(folder)
            try:
                results[name] = round(measure(host), 1)
            finally:
                subprocess.run([str(SCRIPT), "stop", str(folder)], check=False)
        results["images"] = len(saved)
        results["archive_mib"] = round(archive.stat().st_size / 2**20)
        results["saved_seconds"] = round(results["build_seconds"] - results["load_seconds"], 1)
        results["ratio"] = round(results["build_seconds"] / results["load_seconds"], 1)
        print(json.dumps({"machine_cache": results}, indent=2))


if __name__ == "__main__":
    main()
