"""The world on a testbed's network: the server container (see ``server.py``), its address for the network's DNS,
what it saw, and outages laid over it by a scenario."""

from __future__ import annotations

import contextlib
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
    key: str = ""  # the URL as mapped (a mapping without a query serves every query)
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
        self._generation = 1  # of the configuration the server has read
        self._marks = 0  # marks asked of it
        self._outages: list[dict[str, Response]] = []  # laid over the mapped URLs, the last on top

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
        container = None
        try:
            container = client.containers.create(
                image,
                name=ownership.name("world"),
                hostname="world",
                labels=ownership.labels("world"),
                network=network.name,
                detach=True,
            )
            files = [Entry(f"{FOLDER}/server.py", _SERVER.read_bytes()), *_config_files(spec)]
            files += [Entry(f"{FOLDER}/ca.pem", ca.cert_pem), Entry(f"{FOLDER}/ca-key.pem", ca.key_pem, 0o600)]
            put_files(container, files)
            container.start()
            _wait_for(container, '"kind": "ready"', timeout, "did not start")
            container.reload()
            address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        except docker.errors.APIError as exc:
            _remove(container)
            raise HarnessError(f"the engine refused the world's server: {exc}") from None
        except BaseException:
            _remove(container)
            raise
        return cls(container, address, spec)

    def events(self) -> list[WorldEvent]:
        """Everything it saw, in order, up to a mark made now: what happened before this call is all there."""
        self._marks += 1
        self._signal("SIGUSR1")
        wanted = f'"kind": "mark", "n": {self._marks}'
        text = _wait_for(self.container, wanted, 10.0, "did not answer")
        found = []
        for line in text[: text.index(wanted)].splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("kind") in ("http", "dns", "tls-refused"):
                fields = {k: v for k, v in data.items() if k in WorldEvent.__dataclass_fields__}
                found.append(WorldEvent(**fields))
        return found

    def outage(self, responses: Mapping[str, Response]) -> None:
        """These URLs answer so from now on (the others as before), until :meth:`end_outage`; outages stack."""
        self._outages.append(dict(responses))
        self._serve_outages()

    def end_outage(self) -> None:
        """The last outage ends: what was under it answers again."""
        if self._outages:
            self._outages.pop()
        self._serve_outages()

    def _serve_outages(self) -> None:
        layered: dict[str, Response] = {}
        for layer in self._outages:
            layered.update(layer)
        data, files = {}, []
        for number, (url, response) in enumerate(layered.items()):
            name = f"outage-{number}" if response.file is not None else None
            if response.file is not None:
                files.append(Entry(f"{FOLDER}/files/{name}", _read(url, response.file)))
            data[url] = response.as_data(name)
        put_files(self.container, [*files, Entry(f"{FOLDER}/outage.json", json.dumps(data).encode())])
        self._generation += 1
        self._signal("SIGHUP")
        _wait_for(self.container, f'"generation": {self._generation}', 10.0, "did not take its new configuration")

    def _signal(self, name: str) -> None:
        try:
            self.container.kill(signal=name)
        except docker.errors.APIError as exc:
            raise HarnessError(f"the world's server is gone: {exc}\n{_tail(self.container)}") from None


def _config_files(spec: WorldSpec) -> list[Entry]:
    """config.json, and each served file under files/ by its number (read now: a missing one is named here)."""
    urls, files = {}, []
    for number, (url, response) in enumerate(spec.urls.items()):
        name = None
        if response.file is not None:
            name = str(number)
            files.append(Entry(f"{FOLDER}/files/{name}", _read(url, response.file)))
        urls[url] = response.as_data(name)
    return [Entry(f"{FOLDER}/config.json", json.dumps({"urls": urls}).encode()), *files]


def _read(url: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise HarnessError(f"the world cannot serve {url}: {exc}", fix="check the file the spec names") from None


def _wait_for(container: Container, wanted: str, timeout: float, what: str) -> str:
    """The server's log, once it holds ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        text: str = container.logs(stdout=True, stderr=False).decode(errors="replace")
        if wanted in text:
            return text
        container.reload()
        if container.status != "running" or time.monotonic() > deadline:
            raise HarnessError(f"the world's server {what}:\n{_tail(container)}")
        time.sleep(0.02)


def _remove(container: Container | None) -> None:
    if container is not None:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


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
