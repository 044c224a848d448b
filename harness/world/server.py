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
import queue
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


NOT_IMPLEMENTED = 4  # DNS's NOTIMP: an opcode other than a standard query


def dns_answer(query: bytes, address: str) -> tuple[bytes, str, int] | None:
    """The reply to a DNS query (an A question of class IN answered with ``address``, any other question with no
    record; another opcode with NOTIMP), the name asked and its type; None for what is not one question (an EDNS
    record in the additional section is left out of the reply)."""
    if len(query) < 17 or query[2] & 0x80 or struct.unpack("!H", query[4:6])[0] != 1:
        return None
    labels, at = [], 12
    while at < len(query) and query[at]:
        length = query[at]
        if length & 0xC0:  # a compression pointer or a reserved label type: no query has one
            return None
        labels.append(query[at + 1 : at + 1 + length].decode(errors="replace"))
        at += length + 1
    end = at + 5  # the zero byte, the type and the class
    if end > len(query):
        return None
    qtype, qclass = struct.unpack("!HH", query[at + 1 : end])
    opcode = query[2] & 0x78
    flags = bytes([0x80 | opcode | (query[2] & 0x01), 0x80 | (NOT_IMPLEMENTED if opcode else 0)])
    answers = 1 if (qtype, qclass, opcode) == (1, 1, 0) else 0
    reply = query[:2] + flags + struct.pack("!HHHH", 1, answers, 0, 0) + query[12:end]
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

    def find(self, url: str) -> tuple[str, dict[str, Any] | None, bool]:
        """The key that maps a URL, its response (None: unmapped), and whether an outage gave it."""
        with self.lock:
            candidates = [url, url.split("?", 1)[0]]  # a mapping without a query serves every query
            for key in candidates:
                if key in self.outage:
                    return key, self.outage[key], True
                if key in self.urls:
                    return key, self.urls[key], False
        return url, None, False


_LOG_LOCK = threading.Lock()


def log(event: dict[str, Any]) -> None:
    """One JSON line, written whole: threads never interleave two events on one line."""
    line = json.dumps({"at": round(time.time(), 3), **event}, sort_keys=True) + "\n"
    with _LOG_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


class Certificates:
    """A certificate per name, minted from the run's CA on first use (one key for all of them). Each carries the
    key identifiers strict clients require (Python 3.13 verifies with VERIFY_X509_STRICT)."""

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
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        issuer_key = self.ca_key.public_key()
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
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key),  # type: ignore[arg-type]
                critical=False,
            )
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
    timeout = 60  # seconds a kept-alive connection may idle

    def do_GET(self) -> None:
        self._answer(body=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        self._discard_body()
        url = self._url()
        key, response, outage = self.server.routes.find(url)
        event = {"kind": "http", "method": self.command, "url": url, "key": key, "client": self.client_address[0]}
        if response is None:  # logged before the answer: the client never sees it before the harness can
            log({**event, "status": REFUSED, "mapped": False, "outage": False})
            self._send(REFUSED, {"X-Deployer-Harness": "unmapped"}, self._refusal(url), None, body)
            return
        status = int(response.get("status", 200))
        log({**event, "status": status, "mapped": True, "outage": outage})
        if response.get("hang"):
            time.sleep(HANG_SECONDS)  # the client's timeout ends it
            return
        time.sleep(float(response.get("delay") or 0))
        content = body_of(response, self.server.routes.folder / "files") if status not in (204, 304) else b""
        headers = {"Content-Type": "application/octet-stream", **response.get("headers", {})}
        self._send(status, headers, content, response.get("cut_after"), body)

    def _url(self) -> str:
        scheme, port = self.server.scheme, self.server.server_address[1]
        authority = (self.headers.get("Host") or "").strip() or "no-host-header"
        if ":" not in authority and port != DEFAULT_PORTS[scheme]:
            authority += f":{port}"
        try:
            return url_key(f"{scheme}://{authority}{self.path}")
        except ValueError:
            return f"{scheme}://{authority}{self.path}"

    def _discard_body(self) -> None:
        """A request's body is read (and dropped): on a kept-alive connection it would be taken for the next
        request."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit():
            self.rfile.read(int(length))

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
    handshake_seconds = 30.0

    def __init__(self, port: int, scheme: str, routes: Routes, certificates: Certificates | None) -> None:
        super().__init__(("0.0.0.0", port), Handler)
        self.scheme, self.routes, self.certificates = scheme, routes, certificates
        self._asked = threading.local()  # the name the client of this thread's connection asked for
        self._tls: ssl.SSLContext | None = None
        if certificates is not None:
            self._tls = certificates.context("world")  # for a client that names no server
            self._tls.sni_callback = self._choose

    def _choose(self, connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        self._asked.name = name or ""
        assert self.certificates is not None
        connection.context = self.certificates.context(name or "world")

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS here, in the request's thread: a client that refuses the certificate is logged, not lost."""
        if self._tls is None:
            super().finish_request(request, client_address)
            return
        self._asked.name = ""
        request.settimeout(self.handshake_seconds)
        try:
            tls = self._tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log({"kind": "tls-refused", "name": self._asked.name, "client": client_address[0], "error": str(exc)})
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()  # the raw socket the server closes was detached by the wrap


def serve_dns(address: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 53))
    while True:
        try:
            query, peer = sock.recvfrom(4096)
            answer = dns_answer(query, address)
            if answer is None:
                continue
            reply, name, qtype = answer
            sock.sendto(reply, peer)
        except OSError:
            continue  # one client's trouble never ends the world
        if qtype == 1:
            log({"kind": "dns", "name": name, "client": peer[0]})


def control(routes: Routes, orders: queue.SimpleQueue[str]) -> None:
    """What the harness's signals ask, done outside the signal handler (which only queues it: a handler that
    logged could meet a log write it interrupted). SIGHUP: read the configuration again. SIGUSR1: a mark in the
    log, which the harness waits for (every event before it is written)."""
    marks = 0
    while True:
        order = orders.get()
        try:
            if order == "reload":
                routes.load()
            else:
                marks += 1
                log({"kind": "mark", "n": marks})
        except (OSError, ValueError, KeyError) as exc:
            log({"kind": "config-refused", "error": str(exc)})


def main(folder: Path) -> None:
    routes = Routes(folder)
    certificates = Certificates(folder)
    orders: queue.SimpleQueue[str] = queue.SimpleQueue()  # its put is safe in a signal handler
    signal.signal(signal.SIGHUP, lambda number, frame: orders.put("reload"))
    signal.signal(signal.SIGUSR1, lambda number, frame: orders.put("mark"))
    threading.Thread(target=control, args=(routes, orders), name="control", daemon=True).start()
    address = socket.gethostbyname(socket.gethostname())
    for port, scheme in listening_ports(routes.urls).items():
        server = WorldServer(port, scheme, routes, certificates if scheme == "https" else None)
        threading.Thread(target=server.serve_forever, name=f"{scheme}-{port}", daemon=True).start()
    log({"kind": "ready", "address": address})
    serve_dns(address)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
