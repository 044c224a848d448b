"""Remove what the harness made: a finished deployment, a whole run, or what dead runs left behind."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
from docker.models.networks import Network

from harness.engine.labels import KEEP, KEPT_MARKER, OWNER, ROLE, RUN, SCOPE, Ownership, owner_is_alive


@dataclass
class SweepReport:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # machines committed to start clones from (never the cache)
    volumes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.images or self.volumes or self.errors)

    def __str__(self) -> str:
        text = (
            f"removed {len(self.containers)} container(s), {len(self.networks)} network(s), "
            f"{len(self.images)} image(s) and {len(self.volumes)} volume(s) left by runs that are gone"
        )
        return text + "".join(f"\n  could not remove {error}" for error in self.errors)


def remove_matching(
    client: docker.DockerClient, doomed: Callable[[dict[str, str]], bool], label: str = OWNER
) -> SweepReport:
    """Remove containers, then images, networks and volumes carrying ``label`` (a key, or ``key=value``) whose
    labels ``doomed`` accepts.

    Containers are listed with ``all=True``: created, stopped and exited ones count too.
    Another run may remove the same things meanwhile; that is success, and any other
    engine error is reported, not raised, so one stuck resource never stops a run.
    """
    report = SweepReport()
    flt = {"label": label}

    def remove(name: str, action: Callable[[], object], into: list[str]) -> None:
        try:
            action()
            into.append(name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            report.errors.append(f"{name}: {exc.explanation or exc}")

    for container in client.containers.list(all=True, filters=flt, ignore_removed=True):
        if doomed(container.labels):
            remove(container.name, functools.partial(container.remove, force=True, v=True), report.containers)
    # Only committed machines carry an owner; the cache does not. The low-level listing: the SDK's inspects each
    # image it lists, and fails when another run removes one of its own meanwhile.
    for image in client.api.images(filters=flt):
        if doomed(image.get("Labels") or {}):
            tags = image_tags(image)
            name = tags[0] if tags else image["Id"].split(":")[-1][:12]
            remove(name, functools.partial(client.images.remove, image["Id"], force=True), report.images)
    for network in client.networks.list(filters=flt):
        if doomed(network.attrs.get("Labels") or {}):
            _disconnect_all(network)  # a container shared between deployments (the run's mirror) may still be on it
            remove(network.name, network.remove, report.networks)
    for volume in client.volumes.list(filters=flt):
        if doomed(volume.attrs.get("Labels") or {}):
            remove(volume.name, functools.partial(volume.remove, force=True), report.volumes)
    return report


def image_tags(image: dict[str, Any]) -> list[str]:
    """The tags of an image as the engine's listing gives it (an untagged one's placeholder left out)."""
    return [tag for tag in image.get("RepoTags") or [] if tag != "<none>:<none>"]


def remove_labelled(client: docker.DockerClient, label: str, value: str) -> SweepReport:
    """Everything carrying ``label=value``: only those are listed, never another run's (which may go meanwhile)."""
    return remove_matching(client, lambda labels: labels.get(label) == value, f"{label}={value}")


def sweep(
    client: docker.DockerClient,
    *,
    run_id: str | None = None,
    kept: bool = False,
    is_dead: Callable[[str], bool] = lambda owner: not owner_is_alive(owner),
) -> SweepReport:
    """Remove resources of dead owners, or, with ``run_id``, every resource of that run.

    Machines kept on purpose (``--keep``) stay unless ``kept`` is set.
    """

    _drop_empty_markers(client)
    marked = set() if kept else kept_scopes(client)

    def doomed(labels: dict[str, str]) -> bool:
        if not kept and (labels.get(KEEP) == "true" or labels.get(SCOPE, "-") in marked):
            return False
        if run_id is not None:
            return labels.get(RUN) == run_id
        return is_dead(labels.get(OWNER, ""))

    return remove_matching(client, doomed)


def mark_kept(client: docker.DockerClient, ownership: Ownership) -> None:
    """A failed scenario's machines (labelled kept on failure) stay: a marker of their scope says so, kept as
    machines kept with --keep are (``sweep --kept`` removes it with them)."""
    labels = {**ownership.labels(KEPT_MARKER), KEEP: "true"}
    with contextlib.suppress(docker.errors.DockerException):  # already marked; or the engine is gone: said elsewhere
        client.volumes.create(ownership.name("kept"), labels=labels)


def _drop_empty_markers(client: docker.DockerClient) -> None:
    """A marker whose machines are gone (removed by hand) keeps nothing: it goes, and the run's keys with it."""
    for marker in client.volumes.list(filters={"label": f"{ROLE}={KEPT_MARKER}"}):
        scope = (marker.attrs.get("Labels") or {}).get(SCOPE)
        if not client.containers.list(all=True, sparse=True, filters={"label": f"{SCOPE}={scope}"}):
            with contextlib.suppress(docker.errors.APIError):
                marker.remove(force=True)


def kept_scopes(client: docker.DockerClient) -> set[str]:
    """The scopes whose machines were kept because their scenario failed."""
    markers = client.volumes.list(filters={"label": f"{ROLE}={KEPT_MARKER}"})
    return {str((marker.attrs.get("Labels") or {}).get(SCOPE)) for marker in markers}


def _disconnect_all(network: Network) -> None:
    with contextlib.suppress(docker.errors.APIError):
        network.reload()
        for container in network.attrs.get("Containers") or {}:
            with contextlib.suppress(docker.errors.APIError):
                network.disconnect(container, force=True)
