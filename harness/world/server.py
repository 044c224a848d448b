"""The world outside the test network, as one process in the ``world`` container: DNS for every name, and HTTP and
HTTPS answered from the spec's ``world.urls``.

Runs with Python's standard library and ``cryptography`` only (Debian's python3-cryptography): the harness copies
this file into the container. The pure parts (URL keys, DNS answers, the routes) are imported by the harness too.

- DNS (UDP 53): the engine's resolver answers the network's own names (machines, aliases) and forwards the rest
  here; every name gets this container's address, so an unexpected download reaches the refusal below, and every
  lookup is logged.
- HTTP and HTTPS: a mapped URL gets its response (status, body, headers, delay, a cut-off body, or no answer at
  all); anything else gets a 502 that names the URL and the fix. TLS serves, for whatever name the client asks
  (SNI), a certificate minted from the run's CA, which the machines and pods trust.
- Each request, lookup and refused handshake is one JSON line on stdout: the harness reads them per apply.
- SIGHUP reads the configuration again (an outage in a scenario, and its end).
"""

from __future__ import annotations

import datetime
import json
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED = 502  # nothing is mapped there: the harness's gateway has no way to the real address
HANG_SECONDS = 3600.0
_PATTERN = b"deployer-harness world: generated body\n"


def url_key(url: str) -> str:
    """One text for a URL, as both the spec and a request spell it: the host lower-case, the scheme's default port
    and the fragment dropped, an empty path as ``/``. Raises ValueError for what is not an http(s) URL with a
    host name."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an http:// or https:// URL with a host name")
    port = parts.port  # ValueError for a port out of range
    netloc = parts.hostname.lower() + (f":{port}" if port not in (None, DEFAULT_PORTS[scheme]) else "")
    return f"{scheme}://{netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def listening_ports(urls: Mapping[str, Any]) -> dict[int, str]:
    """The ports to serve, with their scheme: 80 and 443 always, and every port a URL names."""
    ports = {port: scheme for scheme, port in DEFAULT_PORTS.items()}
    for url in urls:
        parts = urlsplit(url)
        ports.setdefault(parts.port or DEFAULT_PORTS[parts.scheme], parts.scheme)
    return ports


def body_of(response: Mapping[str, Any], files: Path) -> bytes:
    if response.get("text") is not None:
        return str(response["text"]).encode()
    if response.get("file") is not None:
        return (files / str(response["file"])).read_bytes()
    size = int(response.get("size") or 0)
    return (_PATTERN * (size // len(_PATTERN) + 1))[:size]


def dns_answer(query: bytes, address: str) -> tuple[bytes, str, int] | None:
    """The reply to a DNS query (every A question answered with ``address``, other types with no record), the
    name asked and its type; None for what is not one question."""
    if len(query) < 17 or struct.unpack("!H", query[4:6])[0] != 1:
        return None
    labels, at = [], 12
    while at < len(query) and query[at]:
        length = query[at]
        labels.append(query[at + 1 : at + 1 + length].decode(errors="replace"))
        at += length + 1
    end = at + 5  # the zero byte, the type and the class
    if end > len(query):
        return None
    qtype = struct.unpack("!H", query[at + 1 : at + 3])[0]
    recursion = query[2] & 0x01
    answers = 1 if qtype == 1 else 0
    header = query[:2] + bytes([0x80 | recursion, 0x80]) + struct.pack("!HHHH", 1, answers, 0, 0)
    reply = header + query[12:end]
    if answers:
        reply += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(address)
    return reply, ".".join(labels).lower(), qtype


class Routes:
    """The configuration (``config.json``) and the outage laid over it (``outage.json``), read again on SIGHUP."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = 0
        self.lock = threading.Lock()
        self.urls: dict[str, dict[str, Any]] = {}
        self.outage: dict[str, dict[str, Any]] = {}
        self.load()

    def load(self) -> None:
        config = json.loads((self.folder / "config.json").read_text())
        outage_file = self.folder / "outage.json"
        outage = json.loads(outage_file.read_text()) if outage_file.exists() else {}
        with self.lock:
            self.urls, self.outage = config["urls"], outage
            self.generation += 1
        log({"kind": "config", "generation": self.generation, "outage": sorted(outage)})

    def find(self, url: str) -> tuple[dict[str, Any] | None, bool]:
        """The response for a URL (None: unmapped), and whether an outage gave it."""
        with self.lock:
            candidates = [url, url.split("?", 1)[0]]  # a mapping without a query serves every query
            for key in candidates:
                if key in self.outage:
                    return self.outage[key], True
                if key in self.urls:
                    return self.urls[key], False
        return None, False


def log(event: dict[str, Any]) -> None:
    print(json.dumps({"at": round(time.time(), 3), **event}, sort_keys=True), flush=True)


class Certificates:
    """A certificate per name, minted from the run's CA on first use (one key for all of them)."""

    def __init__(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.ca_cert = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
        self.ca_key = serialization.load_pem_private_key((folder / "ca-key.pem").read_bytes(), None)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.scratch = Path(tempfile.mkdtemp(prefix="world-certs-"))
        (self.scratch / "key.pem").write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.contexts: dict[str, ssl.SSLContext] = {}
        self.lock = threading.Lock()

    def context(self, name: str) -> ssl.SSLContext:
        with self.lock:
            if name not in self.contexts:
                self.contexts[name] = self._mint(name)
            return self.contexts[name]

    def _mint(self, name: str) -> ssl.SSLContext:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
            .issuer_name(self.ca_cert.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.ca_key, hashes.SHA256())  # type: ignore[arg-type]  # an EC key, as the harness makes it
        )
        path = self.scratch / f"{len(self.contexts)}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path, self.scratch / "key.pem")
        return context


class Handler(BaseHTTPRequestHandler):
    server: WorldServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_POST(self) -> None:
        self._answer(body=True)

    def do_PUT(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        scheme, port = self.server.scheme, self.server.server_address[1]
        authority = (self.headers.get("Host") or "").strip() or "no-host-header"
        if ":" not in authority and port != DEFAULT_PORTS[scheme]:
            authority += f":{port}"
        try:
            url = url_key(f"{scheme}://{authority}{self.path}")
        except ValueError:
            url = f"{scheme}://{authority}{self.path}"
        response, outage = self.server.routes.find(url)
        event = {"kind": "http", "method": self.command, "url": url, "client": self.client_address[0]}
        if response is None:
            self._send(REFUSED, {"X-Deployer-Harness": "unmapped"}, self._refusal(url), None, body)
            log({**event, "status": REFUSED, "mapped": False, "outage": False})
            return
        log({**event, "status": int(response.get("status", 200)), "mapped": True, "outage": outage})
        if response.get("hang"):
            time.sleep(HANG_SECONDS)  # the client's timeout ends it
            return
        time.sleep(float(response.get("delay") or 0))
        content = body_of(response, self.server.routes.folder / "files")
        headers = {"Content-Type": "application/octet-stream", **response.get("headers", {})}
        self._send(int(response.get("status", 200)), headers, content, response.get("cut_after"), body)

    @staticmethod
    def _refusal(url: str) -> bytes:
        return (
            f"deployer-harness world: nothing is mapped at {url}; the test network has no way out.\n"
            f"fix: map it under `world.urls` in harness.yaml, e.g. `{url}: {{file: files/NAME}}`\n"
        ).encode()

    def _send(self, status: int, headers: Mapping[str, str], content: bytes, cut_after: int | None, body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(content)))  # the whole length, also when it is cut off
        self.end_headers()
        if not body:
            return
        if cut_after is not None and cut_after < len(content):
            self.wfile.write(content[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # the body ends early: the client sees a short read
            return
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # every request is logged once, as JSON


class WorldServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, scheme: str, routes: Routes, certificates: Certificates | None) -> None:
        super().__init__(("0.0.0.0", port), Handler)
        self.scheme, self.routes, self.certificates = scheme, routes, certificates
        self._asked = threading.local()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS here, in the request's thread: a client that refuses the certificate is logged, not lost."""
        if self.certificates is not None:
            certificates = self.certificates
            self._asked.name = ""

            def choose(connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
                self._asked.name = name or ""
                connection.context = certificates.context(name or "world")

            context = certificates.context("world")
            context.sni_callback = choose
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log({"kind": "tls-refused", "name": self._asked.name, "client": client_address[0], "error": str(exc)})
                return
        super().finish_request(request, client_address)


def serve_dns(address: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 53))
    while True:
        query, peer = sock.recvfrom(4096)
        answer = dns_answer(query, address)
        if answer is not None:
            reply, name, qtype = answer
            sock.sendto(reply, peer)
            if qtype == 1:
                log({"kind": "dns", "name": name, "client": peer[0]})


def main(folder: Path) -> None:
    routes = Routes(folder)
    certificates = Certificates(folder)
    signal.signal(signal.SIGHUP, lambda number, frame: routes.load())
    address = socket.gethostbyname(socket.gethostname())
    for port, scheme in listening_ports(routes.urls).items():
        server = WorldServer(port, scheme, routes, certificates if scheme == "https" else None)
        threading.Thread(target=server.serve_forever, name=f"{scheme}-{port}", daemon=True).start()
    log({"kind": "ready", "address": address})
    serve_dns(address)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
