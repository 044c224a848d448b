"""The run's CA, trusted inside a created (not yet started) container, as the system's own CAs are: appended to
Debian's bundle (what curl and wget read; Alpine's is at the same path), under its hash in /etc/ssl/certs (what
Python's ssl and OpenSSL's tools look up), and kept where ``update-ca-certificates`` finds it again if the deployer
runs it. Through the engine's archive calls: no command
runs in the container, and a remote engine works as a local one does."""

from __future__ import annotations

import io
import tarfile

import docker.errors
from docker.models.containers import Container

from harness.engine.archive import Entry, put_files
from harness.world.ca import subject_hash

CERTS = "/etc/ssl/certs"
BUNDLE = f"{CERTS}/ca-certificates.crt"
LOCAL_CA = "/usr/local/share/ca-certificates/deployer-harness-world.crt"


def trust(container: Container, ca_pem: bytes) -> None:
    bundle = _regular_file(container, BUNDLE) or b""
    if ca_pem in bundle:  # a clone of a machine that trusts it already
        return
    joined = bundle + (b"" if not bundle or bundle.endswith(b"\n") else b"\n") + ca_pem
    hashed = f"{CERTS}/{subject_hash(ca_pem)}.0"
    put_files(container, [Entry(LOCAL_CA, ca_pem), Entry(BUNDLE, joined), Entry(hashed, ca_pem)])


def _regular_file(container: Container, path: str) -> bytes | None:
    """The file's content; None where it is missing, or not a regular file (a link is replaced, not followed)."""
    try:
        chunks, _ = container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            return None
        extracted = tar.extractfile(member)
        return extracted.read() if extracted is not None else None
