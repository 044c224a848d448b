"""The sweep on a real engine that other runs share: what they remove meanwhile never stops it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from harness.engine.labels import SCOPE, Ownership
from harness.engine.sweep import remove_labelled, sweep
from harness.images.catalog import ROOTFS
from harness.workbench import Workbench


def committed_image(client: docker.DockerClient, ownership: Ownership, image: str) -> str:
    """An image carrying the ownership's labels, as a machine committed to start clones from does."""
    container = client.containers.create(image, ["true"], entrypoint=[], labels=ownership.labels("machine"))
    try:
        return str(container.commit(conf={"Labels": ownership.labels("machine")}).id)
    finally:
        container.remove(force=True)


@pytest.fixture
def two_runs(bench: Workbench) -> Iterator[tuple[Ownership, Ownership, list[str]]]:
    """Two deployments' scopes, each with a committed image of its own; whatever is left is removed after."""
    rootfs = bench.builder.ensure(ROOTFS)
    ours, theirs = Ownership(scope="ours"), Ownership(scope="theirs")
    images = [committed_image(bench.client, o, rootfs) for o in (ours, theirs)]
    yield ours, theirs, images
    for image in images:
        with contextlib.suppress(docker.errors.NotFound):
            bench.client.images.remove(image, force=True)


@pytest.mark.parametrize("by", ["deployment", "run"])
def test_an_image_another_run_removes_meanwhile_does_not_stop_the_removal(
    bench: Workbench, two_runs: tuple[Ownership, Ownership, list[str]], monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    ours, _, (our_image, their_image) = two_runs
    client = bench.client
    listing = client.api.images

    def list_then_lose_theirs(*args: Any, **kwargs: Any) -> Any:
        found = listing(*args, **kwargs)
        # the other run closes its deployment between this listing and anything done with it
        client.images.remove(their_image, force=True)
        return found

    monkeypatch.setattr(client.api, "images", list_then_lose_theirs)
    # a testbed's close; the run's end, which lists every run's resources
    removal = {
        "deployment": lambda: remove_labelled(client, SCOPE, ours.scope),
        "run": lambda: sweep(client, run_id=ours.run_id),
    }
    report = removal[by]()
    monkeypatch.undo()

    assert report.errors == []
    assert len(report.images) == 1
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(our_image)
