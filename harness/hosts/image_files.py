"""What the machines' images hold: the files a whole-host scan need not read, and their digests when a comparison
needs one.

A file whose inode last changed before its machine's container was created is its image's own, unchanged:
overlayfs copies a file up, with a new ctime, on any change to its content or metadata, and nothing inside a
container sets a ctime back. A whole-host scan digests only the other files (on a Proxmox VE host it no longer
reads the 200 MB of /usr), and a file that one scan left undigested and a later one digested is read from the
image itself.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable, Mapping

import docker
import docker.errors

from harness.engine.archive import never_started
from harness.engine.clock import instant
from harness.engine.labels import Ownership
from harness.hosts.machine import Machine

MARGIN = 1.0  # seconds before the container's creation that still count as "after": more digests, never fewer


class ImageFiles:
    def __init__(self, client: docker.DockerClient, ownership: Ownership, machines: Mapping[str, Machine]) -> None:
        self.client, self.ownership, self.machines = client, ownership, machines

    def since(self, machine: str) -> float | None:
        """Files whose inode changed before this instant (epoch seconds) are the image's; None: digest them all."""
        found = self.machines.get(machine)
        if found is None:
            return None
        try:
            return instant(found.container.attrs["Created"]).timestamp() - MARGIN
        except (KeyError, ValueError):
            return None

    def digests(self, machine: str, paths: Iterable[str]) -> dict[str, str]:
        """sha256 of these regular files as the machine's image holds them (those it does not are left out)."""
        found = self.machines.get(machine)
        wanted = sorted(set(paths))
        if found is None or not wanted:
            return {}
        digests = {}
        with never_started(self.client, self.ownership, found.container.attrs["Image"], "image-files") as reader:
            for path in wanted:
                try:
                    stream, _ = reader.get_archive(path)
                except docker.errors.NotFound:
                    continue
                with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                    member = tar.next()
                    body = tar.extractfile(member) if member is not None and member.isfile() else None
                    if body is not None:
                        digests[path] = hashlib.sha256(body.read()).hexdigest()
        return digests
