"""Benchmarks: ratios against a baseline measured in the same run, never timed assertions.

    python benchmarks/run.py            # host readiness (and host keys), SSH latency, the journal of remote
                                        # commands, snapshots, drift and rollback costs,
                                        # warm pytest --deployer pve-nut
    python benchmarks/run.py --only ready journal   # some of them
    python benchmarks/run.py --cold     # also a cold run: prunes the cached images first (rebuilds them)
    python benchmarks/run.py --cluster-nodes 50   # also node-configurator on a simulated cluster of 50 nodes

Results are printed and written to benchmarks/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from harness.deployer.spec import MachineSpec, load_spec
from harness.deployment import Deployment
from harness.drift.mutations import derive_mutations
from harness.drift.strategies import Converged
from harness.drift.suite import put_back, run_drift, save
from harness.engine.sweep import sweep
from harness.hosts.host_keys import HostKeys, generate_host_keys
from harness.hosts.journal import close_journal, open_journal
from harness.hosts.machine import Machine
from harness.testbed import Testbed, standalone_machine
from harness.workbench import Workbench

REPO = Path(__file__).resolve().parent.parent


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def host_readiness(bench: Workbench, kind: str, repeat: int) -> dict[str, float]:
    image = bench.machine_image(kind)
    client = bench.client

    def bare_shell() -> None:  # the baseline: the same image, a plain `docker run` reaching a shell
        client.containers.run(image, ["sh", "-c", "true"], entrypoint=[], remove=True, network_mode="none")

    with Testbed(bench, "bench") as testbed:

        def ready_host(host_keys: dict[str, HostKeys] | None = None) -> None:
            testbed.start([MachineSpec("bench", kind, "bench")], host_keys=host_keys)
            machine = testbed.machines.pop("bench")
            machine.close()
            machine.container.remove(force=True)

        baseline = median_seconds(bare_shell, repeat)
        ready = median_seconds(ready_host, repeat)
        # Per-machine host keys: the start takes a set the pool made ahead; side by side, one that makes its own.
        on_start = median_seconds(lambda: ready_host({"bench": generate_host_keys()}), repeat)
        keys = median_seconds(generate_host_keys, repeat)
    return {
        "bare_docker_run_s": baseline,
        "ready_host_s": ready,
        "ratio": ready / baseline,
        "ready_host_keys_made_on_start_s": on_start,
        "host_keys_generate_s": keys,
        "host_keys_on_start_share": (on_start - ready) / on_start,
    }


def ssh_latency(bench: Workbench, repeat: int = 200) -> dict[str, float]:
    """Per-command latency over one connection, with TCP_NODELAY (ours) and without (paramiko's default)."""
    with standalone_machine(bench, "debian-12", "ssh") as machine:
        fast = median_seconds(lambda: machine.host.run("true"), repeat)
        plain = paramiko.SSHClient()
        plain.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        plain.connect(machine.address, username="root", key_filename=str(machine.key.private_path), look_for_keys=False)

        def plain_command() -> None:
            _, stdout, _ = plain.exec_command("true")
            stdout.channel.recv_exit_status()

        slow = median_seconds(plain_command, repeat // 4)
        plain.close()
    return {"nodelay_ms": fast * 1000, "default_ms": slow * 1000, "speedup": slow / fast}


def journal_overhead(bench: Workbench, repeat: int = 300) -> dict[str, float]:
    """What recording a command costs: `true` over a deployer's connection (TCP_NODELAY, so no Nagle wait hides
    it) with sshd running commands itself (the baseline), through harness-shell with no journal open, and with
    one; a new connection per round (sshd reads its config per connection), rounds interleaved; medians in ms."""
    conf = "/etc/ssh/sshd_config.d/harness.conf"
    forced = "  ForceCommand /usr/local/sbin/harness-shell"  # the last line, in the `Match User root` block
    modes = {
        "sshd_alone": f"sed -i '/ForceCommand/d' {conf} && systemctl reload ssh",
        "shell_idle": f"grep -q ForceCommand {conf} || echo '{forced}' >> {conf}; systemctl reload ssh",
        "shell_recording": "true",
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    with standalone_machine(bench, "debian-12", "journal") as machine:
        for _ in range(repeat // 20):
            for mode, setup in modes.items():
                machine.exec(setup)
                if mode == "shell_recording":
                    open_journal(machine.run_script)
                ssh = _connect_after_reload(machine)
                transport = ssh.get_transport()
                assert transport is not None and transport.sock is not None
                transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]

                def command(client: paramiko.SSHClient = ssh) -> None:
                    _, stdout, _ = client.exec_command("true")
                    stdout.channel.recv_exit_status()

                times[mode].append(median_seconds(command, 20))
                ssh.close()
                if mode == "shell_recording":
                    close_journal(machine.run_script, machine.own_client)
    result = {f"{mode}_ms": statistics.median(values) * 1000 for mode, values in times.items()}
    result["recording_cost_ms"] = result["shell_recording_ms"] - result["sshd_alone_ms"]
    result["ratio"] = result["shell_recording_ms"] / result["sshd_alone_ms"]
    return result


def _connect_after_reload(machine: Machine) -> paramiko.SSHClient:
    """A new connection once sshd, reloaded, listens again."""
    for _ in range(100):
        ssh = paramiko.SSHClient()
        ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            key = str(machine.key.private_path)
            ssh.connect(machine.address, username="root", key_filename=key, look_for_keys=False)
            return ssh
        except (OSError, paramiko.SSHException):
            ssh.close()
            time.sleep(0.05)
    raise RuntimeError(f"sshd on {machine.address} does not answer after its reload")


def snapshot_speed(bench: Workbench, repeat: int = 21) -> dict[str, float]:
    """A snapshot of the converged pve-nut host: one command, against one SSH round trip (the floor)
    and against asking testinfra item by item (what a harness without the snapshot command would do)."""
    spec = load_spec(REPO / "deployers" / "pve-nut", bench.builder.catalog.names(hosts_only=True))
    with Deployment(bench, spec) as deployment:
        deployment.state.scan_pristine()
        if not deployment.apply().succeeded:
            raise SystemExit("pve-nut did not apply in the snapshot benchmark")
        deployment.state.derive_watch()
        machine = deployment.testbed.machines["pve1"]
        snapshot = median_seconds(deployment.state.snapshot, repeat)
        taken = deployment.state.snapshots[-1]["pve1"]
        host = machine.host
        floor = median_seconds(lambda: host.run("true"), repeat)

        def item_by_item() -> None:
            for path, state in taken.files.items():
                entry = host.file(path)
                _ = (entry.mode, entry.user, entry.group, entry.mtime)
                if state.type == "file":
                    _ = entry.sha256sum
            for unit in taken.units:
                _ = (host.service(unit).is_running, host.service(unit).is_enabled)

        naive = median_seconds(item_by_item, 3)
    return {
        "files": len(taken.files),
        "units": len(taken.units),
        "packages": len(taken.packages),
        "snapshot_ms": snapshot * 1000,
        "ssh_round_trip_ms": floor * 1000,
        "item_by_item_ms": naive * 1000,
        "speedup_vs_item_by_item": naive / snapshot,
    }


def drift_and_rollback_costs(bench: Workbench, repeat: int = 5) -> dict[str, float]:
    """What the drift and rollback suites spend their time on, on the converged pve-nut host.

    - Putting the host back after a mutation the deployer did not heal: the harness restores its saved files
      and unit states (tar over SSH), against the baseline of a new machine and a new apply.
    - The whole-host scan with digests (rollback) against the wide listing without (derivation).
    - One whole mutation: made, checked by the deployer's drift check, healed by a new apply, compared.
    """
    spec = load_spec(REPO / "deployers" / "pve-nut", bench.builder.catalog.names(hosts_only=True))
    with Deployment(bench, spec) as deployment:
        state = deployment.state
        state.scan_pristine()
        if not deployment.apply().succeeded:
            raise SystemExit("pve-nut did not apply in the drift benchmark")
        state.derive_watch()
        converged, watches = state.snapshot(), state.watches[-1]
        mutation = next(m for m in derive_mutations(converged["pve1"]) if m.id == "chmod /opt/pve-nut/.env")
        run = deployment.workload.drift_strategy(Converged(state, converged, watches, deployment.current))
        save(run, converged)

        def restore() -> None:
            state.runners["pve1"](mutation.script)
            put_back(run, converged, mutation)

        restored = median_seconds(restore, repeat)
        cycle = median_seconds(lambda: run_drift(run, converged, [mutation]), 3)
        listing = median_seconds(lambda: state.rescan(["pve1"]), repeat)
        scan = median_seconds(state.scan, repeat)
    started = time.perf_counter()  # the baseline: a new machine, converged by a new apply
    with Deployment(bench, spec) as fresh_deployment:
        if not fresh_deployment.apply().succeeded:
            raise SystemExit("pve-nut did not apply on the new machine")
        fresh = time.perf_counter() - started
    return {
        "put_back_by_restore_s": restored,
        "put_back_by_new_machine_and_apply_s": fresh,
        "restore_speedup": fresh / restored,
        "one_mutation_checked_healed_compared_s": cycle,
        "wide_listing_s": listing,
        "whole_host_scan_with_digests_s": scan,
        "scan_cost_vs_listing": scan / listing,
    }


def cluster_rollout(bench: Workbench, nodes: int) -> dict[str, float]:
    """node-configurator on a simulated cluster of ``nodes`` GPU workers: time until every node is configured (the
    readiness probe says so) and memory per node; the baseline is the same DaemonSet on one node, in this run."""

    def run(count: int) -> dict[str, float]:
        with tempfile.TemporaryDirectory() as folder:
            deployer = Path(folder) / "node-configurator"
            shutil.copytree(REPO / "deployers" / "node-configurator", deployer)
            names = "".join(f"    n{i:02d}: {{labels: {{node-type: gpu}}}}\n" for i in range(count))
            (deployer / "harness.yaml").write_text(f"manifest: k8s/daemonset.yaml\ncluster:\n  nodes:\n{names}")
            spec = load_spec(deployer, bench.builder.catalog.names(hosts_only=True))
            bench.deployer_image(spec)
            started = time.perf_counter()
            with Deployment(bench, spec) as deployment:
                ready = time.perf_counter() - started
                rollout = deployment.apply()
                if not rollout.succeeded:
                    raise SystemExit(rollout.describe())
                converged = time.perf_counter() - started
                usage = [_memory(bench, m.container.id) for m in deployment.testbed.machines.values()]
        return {"nodes_ready_s": ready, "converged_s": converged, "rollout_s": converged - ready,
                "memory_per_node_mib": statistics.mean(usage) / 2**20}  # fmt: skip

    one, many = run(1), run(nodes)
    return {
        "nodes": nodes,
        **{f"{k}_1": v for k, v in one.items()},
        **{f"{k}_{nodes}": v for k, v in many.items()},
        "converged_ratio": many["converged_s"] / one["converged_s"],
    }


def _memory(bench: Workbench, container: str) -> float:
    """What the node uses, page cache left out (cgroup v1: cache; v2: inactive_file)."""
    stats = bench.client.api.stats(container, stream=False)["memory_stats"]
    detail = stats.get("stats", {})
    return float(stats.get("usage", 0) - detail.get("cache", detail.get("inactive_file", 0)))


def pytest_wall(label: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--deployer", "pve-nut", "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stdout[-3000:], file=sys.stderr)
        raise SystemExit(f"pytest --deployer pve-nut failed during the {label} run")
    return seconds


PARTS = ["pytest", "ready", "ssh", "journal", "snapshot", "drift"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="prune cached images first and time a cold run")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cluster-nodes", type=int, default=0, help="also roll node-configurator out on N nodes")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="measure only these")
    args = parser.parse_args()

    results: dict[str, object] = {}
    if args.cold:
        subprocess.run([sys.executable, "-m", "harness.cli", "prune"], check=True)
        results["pytest_pve_nut_cold_s"] = pytest_wall("cold")
    if "pytest" in args.only:
        results["pytest_pve_nut_warm_s"] = pytest_wall("warm")

    bench = Workbench(progress=lambda line: print(line, file=sys.stderr))
    try:
        for kind in ("debian-12", "pve-8") if "ready" in args.only else ():
            results[f"ready_{kind}"] = host_readiness(bench, kind, args.repeat)
        if "ssh" in args.only:
            results["ssh_command"] = ssh_latency(bench)
        if "journal" in args.only:
            results["journal"] = journal_overhead(bench)
        if "snapshot" in args.only:
            results["snapshot_pve_nut"] = snapshot_speed(bench)
        if "drift" in args.only:
            results["drift_and_rollback"] = drift_and_rollback_costs(bench)
        if args.cluster_nodes:
            results["cluster_rollout"] = cluster_rollout(bench, args.cluster_nodes)
    finally:
        sweep(bench.client, run_id=bench.ownership.run_id)
        bench.close()

    print(json.dumps(results, indent=2))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
