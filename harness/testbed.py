"""The machines a deployment (or a test, or a benchmark) works on, made in one place and removed together.

An internal network, the machines and, when asked, the run's Debian package mirror joined to it: the network and
the machines carry one scope label, so closing the testbed removes them by that label, stopped machines included.
The SSH key's file lives in the run's work folder, removed with it; the mirror is the run's, removed by its sweep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import TracebackType

from docker.models.containers import Container
from docker.models.networks import Network

from harness.deployer.spec import MachineSpec
from harness.engine.labels import KEEP, SCOPE, Ownership
from harness.engine.sweep import remove_labelled
from harness.hosts.host_keys import HostKeys
from harness.hosts.image_files import ImageFiles
from harness.hosts.keys import KeyPair, generate
from harness.hosts.machine import Machine, MachineRequest, start_machines
from harness.hosts.mirror import APT_CONFIG, start_mirror
from harness.hosts.network import create_internal_network
from harness.state.tracker import ScriptRunner
from harness.workbench import Workbench
from harness.world.service import World
from harness.world.spec import WorldSpec

MIRROR_KIND = "apt-mirror"
WORLD_KIND = "world"
Volume = tuple[str, str, str]  # (Docker volume, path in the machine, "ro" or "rw")


class Testbed:
    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, bench: Workbench, purpose: str, *, keep: bool = False, key: KeyPair | None = None) -> None:
        self.bench, self.purpose, self.keep = bench, purpose, keep
        # Labelled kept only when kept: a scratch testbed of a --keep run (a drift clone) is swept as any other.
        self.ownership: Ownership = dataclasses.replace(bench.ownership, keep=keep and bench.ownership.keep).scoped()
        self.machines: dict[str, Machine] = {}
        self._network: Network | None = None
        self._key = key  # given: another testbed's (clones of its machines already trust it)
        self.mirror: Container | None = None  # the run's package mirror, joined to this network
        self.world: World | None = None  # the outside of this network, when the spec has one

    @property
    def network(self) -> Network:
        if self._network is None:
            self._network = create_internal_network(self.bench.client, self.ownership, self.purpose)
        return self._network

    @property
    def key(self) -> KeyPair:
        """root's authorized key on every machine, and the deployer's SSH Secret."""
        if self._key is None:
            self._key = generate(self.bench.workdir / self.network.name)
        return self._key

    def start(
        self,
        wanted: Sequence[MachineSpec],
        *,
        mirror: bool = False,
        volumes: Sequence[Volume] = (),
        images: Mapping[str, str] | None = None,
        host_keys: Mapping[str, HostKeys] | None = None,
        world: WorldSpec | None = None,
    ) -> None:
        """Start these machines in parallel (and the mirror beside them, once): ready when this returns.
        ``images``: by machine name, what to start instead of its kind's image (a clone's); ``host_keys``: the
        SSH host keys it keeps (a clone's are its original's); others get new ones. ``world``: the outside, started
        first (the machines' resolver forwards to it), trusted by the machines."""
        bench = self.bench
        if world is not None and self.world is None:
            image = bench.machine_image(WORLD_KIND)
            self.world = World.start(bench.client, self.ownership, self.network, image, world, bench.world_ca)
        dns = (self.world.address,) if self.world is not None else ()
        ca = bench.world_ca.cert_pem if self.world is not None else None
        kinds = {m.kind: bench.machine_image(m.kind) for m in wanted if not images or m.name not in images}
        chosen = {m.name: (images or {}).get(m.name) or kinds[m.kind] for m in wanted}
        files = (APT_CONFIG,) if mirror else ()
        requests = [
            MachineRequest(
                m.name,
                chosen[m.name],
                m.kind,
                m.hostname,
                m.aliases,
                tuple(volumes),
                files,
                (host_keys or {}).get(m.name) or bench.host_keys.take(),  # made ahead
                dns,
                ca,
            )
            for m in wanted
        ]
        network, key = self.network, self.key
        with ThreadPoolExecutor(max_workers=1) as pool:  # the mirror starts while the machines boot
            started_mirror = None
            if mirror and self.mirror is None:
                image = bench.machine_image(MIRROR_KIND)
                started_mirror = pool.submit(start_mirror, bench.client, self.ownership, network, image)
            started = start_machines(bench.client, bench.capabilities, network, requests, key, self.ownership)
            self.machines.update((m.name, m) for m in started)
            if started_mirror is not None:
                self.mirror = started_mirror.result()

    def commit(self) -> dict[str, str]:
        """Each machine as it is now, as an image to start clones from (its files; not its tmpfs nor processes).

        The image carries this testbed's labels (a machine's are its image's): closing the testbed, or the sweep
        of a dead run, removes it with the machines."""
        images = {}
        for name, machine in self.machines.items():
            repository = self.ownership.name(name, "converged").lower()
            # Never kept: a machine's own labels (which the image inherits) may say kept, the image is scratch.
            labels = {**self.ownership.labels("machine-image"), "deployer-harness.machine": name, KEEP: "false"}
            machine.container.commit(repository, "latest", changes=[f"LABEL {k}={v}" for k, v in labels.items()])
            images[name] = f"{repository}:latest"
        return images

    def known_hosts(self, machines: Sequence[MachineSpec]) -> str:
        """A known_hosts file of these machines' host keys, under the names the manifest reaches them by: the
        production address (the pod's copy gets it mapped, as every address it is given), the aliases, the
        host name."""
        lines = []
        for spec in machines:
            machine = self.machines.get(spec.name)
            if machine is not None:
                names = [*([spec.address] if spec.address else []), *spec.aliases, spec.hostname, spec.name]
                lines += machine.host_keys.known_hosts_lines(names)
        return "".join(f"{line}\n" for line in lines)

    def runners(self) -> dict[str, ScriptRunner]:
        """Each machine's shell over its one SSH connection: snapshots, mutations, stamps."""
        return {name: machine.run_script for name, machine in self.machines.items()}

    def image_files(self) -> ImageFiles:
        """What its machines' images hold: whole-host scans digest only what changed since."""
        return ImageFiles(self.bench.client, self.ownership, self.machines)

    def verify_targets(self) -> dict[str, dict[str, str]]:
        """How the deployer's testinfra tests reach each machine."""
        return {
            name: {"address": m.address, "key": str(m.key.private_path), "kind": m.request.kind}
            for name, m in self.machines.items()
        }

    def shell_hints(self) -> list[str]:
        return [m.shell_hint() for m in self.machines.values()]

    def close(self) -> None:
        for machine in self.machines.values():
            machine.close()
        if not self.keep and self._network is not None:  # nothing is made without the network
            # By label, not through the network: a machine that stopped (a deployer ran `poweroff`)
            # or never started is no longer listed on it.
            remove_labelled(self.bench.client, SCOPE, self.ownership.scope)
            self.machines = {}
            self._network = None

    def __enter__(self) -> Testbed:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@contextmanager
def standalone_machine(bench: Workbench, kind: str, name: str) -> Iterator[Machine]:
    """One machine of ``kind`` on an internal network of its own (tests, benchmarks, exploring)."""
    with Testbed(bench, name) as testbed:
        testbed.start([MachineSpec(name, kind, name)])
        yield testbed.machines[name]
