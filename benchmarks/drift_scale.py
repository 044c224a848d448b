"""The drift matrix at real-deployer scale, and the gate, on seed-nut (one ssh or scp per step, ~25 connections
an apply) and on pve-nut. Ratios against baselines measured in this run, never timed assertions.

    python benchmarks/drift_scale.py              # everything below (about 40 minutes on 2 cores)
    python benchmarks/drift_scale.py --quick-only # the gate, one apply, quick vs full is skipped

- one apply of seed-nut, and machine start: the gate's yardstick;
- the gate: ``pytest --deployer seed-nut`` (converge inside idempotency, rollback; drift is not in it), its
  ratio to one apply plus machine start, and the harness's own share of its wall time: the time when neither a
  pod of the deployer's (the engine's start and die events of each) nor its tests (the verify steps, on the
  run's timeline in JUnit) were running; beside it, the share of the scenarios' times added up, from the JUnit
  (each apply's pod time, the verify steps);
- the full drift matrix on K = 1, 2, 4 lanes (clones of the converged machine), and quick against full;
- the same K=2 against K=1 ratio on pve-nut;
- what two lanes cost each other, whatever the harness does: one apply of seed-nut alone against two at once on two
  machines, with the share of that time when some task waited for a CPU (the kernel's CPU pressure, where it has
  it), and a CPU-bound loop alone against two at once (two CPUs that are not two threads of one core); from it,
  what two lanes should come to on the full matrix: every row beside another, but an odd one out at the end;
- how a lane's clone is made: ``docker commit`` of the converged machine, against an overlay of its changes
  (``docker diff``, the changed files in a tar) put into a new machine of its kind before it boots.

Results are written to benchmarks/results/drift-<timestamp>.json after each measurement (and printed).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import re
import statistics
import sys
import tarfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from timeline import REPO, timed_pytest

from harness.deployer.spec import DeployerSpec, load_spec
from harness.deployment import Deployment
from harness.drift.strategies import Converged
from harness.drift.suite import run_drift
from harness.drift.targets import mutations, quick
from harness.engine.probe import systemd_machine_options
from harness.engine.sweep import sweep
from harness.hosts.machine import READY_STATES
from harness.workbench import Workbench
from harness.workloads.clones import WorkloadClones


def spec_of(bench: Workbench, name: str) -> DeployerSpec:
    return load_spec(REPO / "deployers" / name, bench.builder.catalog.names(hosts_only=True))


def converged(deployment: Deployment) -> Converged:
    state = deployment.state
    state.scan_pristine()
    applied = deployment.apply()
    if not applied.succeeded:
        raise SystemExit(f"{deployment.spec.name} did not apply: {applied.describe()}")
    state.derive_watch()
    state.snapshot()
    return Converged(state, state.snapshots[-1], state.watches[-1], deployment.current)


def one_apply(bench: Workbench, spec: DeployerSpec) -> dict[str, float]:
    started = time.perf_counter()
    with Deployment(bench, spec) as deployment:
        ready = time.perf_counter() - started
        converged(deployment)
        seconds = []
        for _ in range(2):  # a converged host: what every apply of the gate after the first costs
            begun = time.perf_counter()
            deployment.apply()
            seconds.append(time.perf_counter() - begun)
    return {"machine_start_s": ready, "apply_s": sum(seconds) / len(seconds)}


def matrix(bench: Workbench, spec: DeployerSpec, lanes: int, tier: str) -> dict[str, Any]:
    with Deployment(bench, spec) as deployment:
        start = converged(deployment)
        strategy = deployment.workload.drift_strategy(start)
        every = mutations(spec, start.snapshots, strategy.arrange)
        chosen = every if tier == "full" else quick(every)
        clones = WorkloadClones(deployment.workload, deployment.testbed, start)
        begun = time.perf_counter()
        try:
            report = run_drift(strategy, start.snapshots, chosen, clones=clones, lanes=lanes)
        finally:
            clones.close()
        seconds = time.perf_counter() - begun
    return {
        "seconds": seconds,
        "mutations": len(chosen),
        "of": len(every),
        "lanes_used": report.lanes,
        "summary": report.summary(),
        "profile": report.profile(),
        "rows": [(r["mutation"], r["item"], r["detected"], r["healed"]) for r in report.to_data(lambda t: t)],
    }


def gate(bench: Workbench, spec: DeployerSpec) -> dict[str, float]:
    """The default run: its wall time, the share of it when neither the deployer's pods nor its tests ran, and the
    harness's share of the scenarios' times added up from JUnit: everything but what the deployer's pods ran (each
    apply says so) and the deployer's tests (the verify steps)."""
    run = timed_pytest(bench, ["--deployer", spec.name])
    total = deployer = 0.0
    for properties in run.cases:
        if any(name == "shared" for name, _ in properties):
            continue  # converge's steps are idempotency's: counted there
        for name, value in properties:
            if name == "machines_ready":
                total += float(value.split()[0])
            elif name == "timing":
                total += sum(float(seconds) for seconds in re.findall(r"([\d.]+) s", value))
                deployer += sum(float(seconds) for seconds in re.findall(r"verify ([\d.]+) s", value))
            elif name.startswith("apply"):
                deployer += sum(float(seconds) for seconds in re.findall(r"its pods ran ([\d.]+) s", value))
    return {
        "wall_s": run.wall_s,
        "deployer_running_s": run.deployer_running_s,
        "harness_share_of_wall": run.harness_share,
        "pods": run.pods,
        "scenarios_s": total,
        "deployer_s": deployer,
        "harness_share_of_scenarios": 1 - deployer / total,
    }


def side_by_side(bench: Workbench, spec: DeployerSpec, rounds: int = 3) -> dict[str, float]:
    """One apply on a converged machine alone, then two at once on two (each lane's row is mostly an apply): the
    median time each took, and the same for a loop that only computes, in two processes."""
    alone: list[float] = []
    paired: list[float] = []
    with Deployment(bench, spec) as first, Deployment(bench, spec) as second:
        converged(first)
        converged(second)
        waited, begun = _cpu_waited(), time.perf_counter()
        for _ in range(rounds):
            alone.append(_timed_apply(first))
        waiting_alone = _share(waited, _cpu_waited(), time.perf_counter() - begun)
        waited, begun = _cpu_waited(), time.perf_counter()
        for _ in range(rounds):
            with ThreadPoolExecutor(max_workers=2) as pool:
                paired += pool.map(_timed_apply, (first, second))
        waiting_paired = _share(waited, _cpu_waited(), time.perf_counter() - begun)
    loop_alone = statistics.median(_spin() for _ in range(2))
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as processes:
        processes.submit(_spin).result()  # both workers started before the pair is timed
        loop_paired = statistics.median(processes.map(_spin, [_SPIN] * 4))
    return {
        "apply_alone_s": statistics.median(alone),
        "apply_beside_another_s": statistics.median(paired),
        "apply_paired_vs_alone": statistics.median(paired) / statistics.median(alone),
        "some_task_waiting_for_a_cpu_alone": waiting_alone,
        "some_task_waiting_for_a_cpu_paired": waiting_paired,
        "cpu_loop_paired_vs_alone": loop_paired / loop_alone,
    }


def _cpu_waited() -> float | None:
    """Seconds, since boot, during which at least one task was runnable and waited for a CPU (PSI: the CPUs'
    own figures, weighted by how busy each was); None without it."""
    try:
        with open("/proc/pressure/cpu") as pressure:
            return int(pressure.readline().split("total=")[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


def _share(before: float | None, after: float | None, wall: float) -> float | None:
    return None if before is None or after is None else (after - before) / wall


def two_lanes_predicted(rows: int, paired_vs_alone: float) -> float:
    """The time 2 lanes take against 1 if a row beside another costs what an apply beside another does, the start
    both runs share aside: each lane runs half the rows, each beside a row of the other lane, and an odd one out runs
    alone at the end."""
    return (rows // 2 * paired_vs_alone + rows % 2) / rows


_SPIN = 20_000_000


def _timed_apply(deployment: Deployment) -> float:
    begun = time.perf_counter()
    deployment.apply()
    return time.perf_counter() - begun


def _spin(count: int = _SPIN) -> float:
    begun, total = time.perf_counter(), 0
    for number in range(count):
        total += number * number
    return time.perf_counter() - begun


def clone_methods(bench: Workbench, spec: DeployerSpec) -> dict[str, float]:
    """Commit against overlay: each made from the same converged machine, timed until systemd is up."""
    client = bench.client
    options = systemd_machine_options(bench.capabilities)
    with Deployment(bench, spec) as deployment:
        converged(deployment)
        machine = next(iter(deployment.testbed.machines.values()))
        labels = deployment.testbed.ownership.labels("benchmark")

        begun = time.perf_counter()
        image = deployment.testbed.commit()[machine.name]
        committed = time.perf_counter() - begun
        boot_commit = _boot(client, image, options, labels, None)

        begun = time.perf_counter()
        changed = [c["Path"] for c in client.api.diff(machine.container.id) if c["Kind"] in (0, 1)]
        engine_made = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")  # the engine's own mounts
        skipped = ("/run", "/tmp", "/proc", "/sys", "/dev", *engine_made)
        listing = "\n".join(p.lstrip("/") for p in changed if not p.startswith(skipped))
        machine.container.put_archive("/", _tar({"overlay.list": listing.encode()}))
        machine.exec("tar -C / --no-recursion -cf /overlay.tar -T /overlay.list 2>/dev/null; true")
        stream, _ = machine.container.get_archive("/overlay.tar")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as outer:
            member = outer.extractfile("overlay.tar")
            overlay = member.read() if member is not None else b""
        made = time.perf_counter() - begun
        boot_overlay = _boot(client, bench.machine_image(machine.request.kind), options, labels, overlay)
    return {
        "commit_s": committed,
        "start_from_commit_s": boot_commit,
        "overlay_tar_s": made,
        "overlay_bytes": len(overlay),
        "start_with_overlay_s": boot_overlay,
        "commit_total_vs_overlay_total": (committed + boot_commit) / (made + boot_overlay),
    }


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _boot(client: Any, image: str, options: dict[str, Any], labels: dict[str, str], overlay: bytes | None) -> float:
    begun = time.perf_counter()
    container = client.containers.create(image, labels=labels, network_mode="none", detach=True, **options)
    try:
        if overlay is not None:
            container.put_archive("/", overlay)
        container.start()
        while True:
            _, out = container.exec_run(["sh", "-c", "systemctl is-system-running 2>/dev/null"])
            if out.decode().strip() in READY_STATES or time.perf_counter() - begun > 90:
                return time.perf_counter() - begun
            time.sleep(0.1)
    finally:
        container.remove(force=True, v=True)


def save(results: dict[str, Any], name: str) -> None:
    """Written after every measurement: a run cut short keeps what it measured."""
    shown = {
        k: ({kk: vv for kk, vv in v.items() if kk != "rows"} if isinstance(v, dict) else v) for k, v in results.items()
    }
    (REPO / "benchmarks" / "results").mkdir(exist_ok=True)
    (REPO / "benchmarks" / "results" / name).write_text(json.dumps(shown, indent=2))
    print(json.dumps(shown, indent=2), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick-only", action="store_true", help="the gate and quick drift only (minutes)")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    name = f"drift-{time.strftime('%Y%m%dT%H%M%S')}.json"
    bench = Workbench(progress=lambda line: print(line, file=sys.stderr))
    try:
        seed, pve = spec_of(bench, "seed-nut"), spec_of(bench, "pve-nut")
        for spec in (seed, pve):
            bench.deployer_image(spec)
        results["seed_one_apply"] = one_apply(bench, seed)
        results["seed_gate"] = gate(bench, seed)
        yardstick = results["seed_one_apply"]["apply_s"] * 6 + results["seed_one_apply"]["machine_start_s"]
        results["seed_gate"]["vs_6_applies_and_machine_start"] = results["seed_gate"]["wall_s"] / yardstick
        save(results, name)
        results["seed_quick_k2"] = matrix(bench, seed, 2, "quick")
        save(results, name)
        if not args.quick_only:
            full(bench, seed, pve, results, name)
    finally:
        sweep(bench.client, run_id=bench.ownership.run_id)
        bench.close()
    save(results, name)


def full(bench: Workbench, seed: DeployerSpec, pve: DeployerSpec, results: dict[str, Any], name: str) -> None:
    results["clone_methods"] = clone_methods(bench, seed)
    save(results, name)
    results["two_lanes_side_by_side"] = side_by_side(bench, seed)
    save(results, name)
    for lanes in (1, 2, 4):
        results[f"seed_full_k{lanes}"] = matrix(bench, seed, lanes, "full")
        save(results, name)
    serial = results["seed_full_k1"]
    for lanes in (2, 4):
        run = results[f"seed_full_k{lanes}"]
        run["vs_serial"] = run["seconds"] / serial["seconds"]
        run["same_matrix_as_serial"] = run["rows"] == serial["rows"]
    pairing = results["two_lanes_side_by_side"]["apply_paired_vs_alone"]
    results["seed_full_k2"]["predicted_from_pairing"] = two_lanes_predicted(serial["mutations"], pairing)
    results["seed_quick_k2"]["vs_full_k2"] = results["seed_quick_k2"]["seconds"] / results["seed_full_k2"]["seconds"]
    pve_serial, pve_two = matrix(bench, pve, 1, "full"), matrix(bench, pve, 2, "full")
    results["pve_full"] = {
        "k1_s": pve_serial["seconds"],
        "k2_s": pve_two["seconds"],
        "k2_vs_k1": pve_two["seconds"] / pve_serial["seconds"],
        "same_matrix": pve_two["rows"] == pve_serial["rows"],
        "mutations": pve_serial["mutations"],
        "profile_k1": pve_serial["profile"],
    }


if __name__ == "__main__":
    main()
