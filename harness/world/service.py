"""The world on a testbed's network: the server container (see ``server.py``), its address for the network's DNS,
what it saw, and outages laid over it by a scenario."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from harness.engine.archive import Entry, put_files
from harness.engine.labels import Ownership
from harness.errors import HarnessError
from harness.world.ca import CertificateAuthority
from harness.world.spec import Response, WorldSpec

FOLDER = "/opt/world"
_SERVER = Path(__file__).with_name("server.py")


@dataclass(frozen=True)
class WorldEvent:
    """One line of the server's log: a request (``http``), a name looked up (``dns``), a refused handshake."""

    kind: str
    at: float
    url: str = ""
    status: int = 0
    mapped: bool = True
    outage: bool = False
    name: str = ""
    client: str = ""
    error: str = ""

    def line(self) -> str:
        if self.kind == "http":
            how = "refused: unmapped" if not self.mapped else "an outage" if self.outage else "served"
            return f"{self.client} {self.url} -> {self.status} ({how})"
        if self.kind == "dns":
            return f"{self.client} looked up {self.name}"
        return f"{self.client} refused the certificate for {self.name or '(no name)'}: {self.error}"


class World:
    def __init__(self, container: Container, address: str, spec: WorldSpec) -> None:
        self.container, self.address, self.spec = container, address, spec
        self._generation = 1

    @classmethod
    def start(
        cls,
        client: docker.DockerClient,
        ownership: Ownership,
        network: Network,
        image: str,
        spec: WorldSpec,
        ca: CertificateAuthority,
        *,
        timeout: float = 30.0,
    ) -> World:
        container = client.containers.create(
            image,
            name=ownership.name("world"),
            hostname="world",
            labels=ownership.labels("world"),
            network=network.name,
            detach=True,
        )
        try:
            files = [Entry(f"{FOLDER}/server.py", _SERVER.read_bytes()), *_config_files(spec)]
            files += [Entry(f"{FOLDER}/ca.pem", ca.cert_pem), Entry(f"{FOLDER}/ca-key.pem", ca.key_pem, 0o600)]
            put_files(container, files)
            container.start()
            _wait_ready(container, timeout)
            container.reload()
            address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        except BaseException:
            container.remove(force=True)
            raise
        return cls(container, address, spec)

    def events(self) -> list[WorldEvent]:
        """Everything it saw, in order."""
        found = []
        for line in self.container.logs(stdout=True, stderr=False).decode(errors="replace").splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("kind") in ("http", "dns", "tls-refused"):
                fields = {k: v for k, v in data.items() if k in WorldEvent.__dataclass_fields__}
                found.append(WorldEvent(**fields))
        return found

    def outage(self, responses: Mapping[str, Response]) -> None:
        """These URLs answer so from now on (the others as mapped), until :meth:`end_outage`."""
        data = {url: response.as_data(None) for url, response in responses.items()}
        put_files(self.container, [Entry(f"{FOLDER}/outage.json", json.dumps(data).encode())])
        self._reload()

    def end_outage(self) -> None:
        put_files(self.container, [Entry(f"{FOLDER}/outage.json", b"{}")])
        self._reload()

    def _reload(self, timeout: float = 10.0) -> None:
        """Read again, and waited for: the next request sees the new configuration."""
        self._generation += 1
        self.container.kill(signal="SIGHUP")
        deadline = time.monotonic() + timeout
        wanted = f'"generation": {self._generation}'
        while wanted not in self.container.logs(stdout=True, stderr=False).decode(errors="replace"):
            if time.monotonic() > deadline:
                raise HarnessError(f"the world's server did not take its new configuration:\n{_tail(self.container)}")
            time.sleep(0.05)


def _config_files(spec: WorldSpec) -> list[Entry]:
    """config.json, and each served file under files/ by its number (read now: a missing one is named here)."""
    urls, files = {}, []
    for number, (url, response) in enumerate(spec.urls.items()):
        name = None
        if response.file is not None:
            name = str(number)
            try:
                files.append(Entry(f"{FOLDER}/files/{name}", response.file.read_bytes()))
            except OSError as exc:
                raise HarnessError(
                    f"the world cannot serve {url}: {exc}", fix="check the file the spec names"
                ) from None
        urls[url] = response.as_data(name)
    return [Entry(f"{FOLDER}/config.json", json.dumps({"urls": urls}).encode()), *files]


def _wait_ready(container: Container, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while b'"kind": "ready"' not in container.logs(stdout=True, stderr=False):
        container.reload()
        if container.status != "running" or time.monotonic() > deadline:
            raise HarnessError(f"the world's server did not start:\n{_tail(container)}")
        time.sleep(0.05)


def _tail(container: Container) -> str:
    return "\n".join(f"    | {line}" for line in container.logs(tail=20).decode(errors="replace").splitlines())


def summary(events: list[WorldEvent]) -> str:
    """One line: requests served and refused, names looked up that no URL maps, handshakes refused."""
    requests = [e for e in events if e.kind == "http"]
    refused = [e for e in requests if not e.mapped]
    outage = [e for e in requests if e.outage]
    parts = [f"{len(requests)} request{'s' if len(requests) != 1 else ''}"]
    if outage:
        parts.append(f"{len(outage)} in an outage")
    if refused:
        parts.append(f"{len(refused)} refused, unmapped: {', '.join(sorted({e.url for e in refused}))}")
    tls = [e for e in events if e.kind == "tls-refused"]
    if tls:
        names = ", ".join(sorted({e.name or "(no name)" for e in tls}))
        parts.append(f"{len(tls)} TLS handshake(s) refused by the client ({names}): does it trust the run's CA?")
    return "; ".join(parts)
