"""`--image NAME=REF` options, and the labels of machines kept on failure: pure parts."""

from __future__ import annotations

import pytest

from harness.engine.labels import KEEP, KEEP_ON_FAILURE, Ownership
from harness.errors import HarnessError
from harness.images.given import GivenImage, parse_images


def test_image_options_are_read_by_deployer() -> None:
    given = parse_images(["pve-nut=registry.example.com/pve-nut@sha256:" + "a" * 64, "seed=docker-archive:x.tar"],
                         ["pve-nut", "seed"])  # fmt: skip
    assert given == {"pve-nut": "registry.example.com/pve-nut@sha256:" + "a" * 64, "seed": "docker-archive:x.tar"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["pve-nut"], "is not NAME=REF"),
        (["=img"], "is not NAME=REF"),
        (["other=img"], "names deployer 'other', which this run does not test"),
        (["pve-nut=a", "pve-nut=b"], "gives deployer 'pve-nut' twice"),
    ],
)
def test_bad_image_options_say_what_and_the_fix(values: list[str], expected: str) -> None:
    with pytest.raises(HarnessError) as raised:
        parse_images(values, ["pve-nut"])
    assert expected in str(raised.value) and "fix: " in str(raised.value)


def test_a_given_image_is_described_by_its_ref_and_id() -> None:
    assert GivenImage("pve-nut:ci", "sha256:abc").describe() == "pve-nut:ci = sha256:abc"
    assert GivenImage("sha256:abc", "sha256:abc").describe() == "sha256:abc"


def test_machines_kept_on_failure_carry_a_label_of_their_own() -> None:
    assert Ownership(keep_on_failure=True).labels("machine")[KEEP] == KEEP_ON_FAILURE
    assert Ownership(keep=True, keep_on_failure=True).labels("machine")[KEEP] == "true"
    assert KEEP not in Ownership().labels("machine")
