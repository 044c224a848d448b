import subprocess
from pathlib import Path

from harness.engine.labels import Ownership, owner_is_alive, owner_of_this_process
from harness.images.rootfs import debian_mirror


def test_this_process_is_alive_and_an_ended_one_is_not() -> None:
    assert owner_is_alive(owner_of_this_process())
    child = subprocess.Popen(["true"])
    child.wait()
    hostname, namespace, _, _ = owner_of_this_process().split("/")
    assert not owner_is_alive(f"{hostname}/{namespace}/{child.pid}/?")


def test_a_reused_pid_is_not_mistaken_for_the_owner() -> None:
    hostname, namespace, pid, _ = owner_of_this_process().split("/")
    assert not owner_is_alive(f"{hostname}/{namespace}/{pid}/1")


def test_owners_this_process_cannot_see_are_never_judged_dead() -> None:
    hostname, _, _, _ = owner_of_this_process().split("/")
    assert owner_is_alive("some-other-host/4026531836/1/1")  # another computer sharing the engine
    assert owner_is_alive(f"{hostname}/1/999999999/1")  # a container with the same host name, other PIDs
    assert not owner_is_alive("not-a-label-we-write")


def test_labels_carry_run_worker_and_owner() -> None:
    ownership = Ownership(run_id="abc", worker="gw1")
    labels = ownership.labels("machine")
    assert labels["deployer-harness.run"] == "abc"
    assert labels["deployer-harness.worker"] == "gw1"
    assert labels["deployer-harness.role"] == "machine"
    assert ownership.name("pve1") == "deployer-harness-abc-gw1-pve1"


def test_the_mirror_comes_from_apt_sources(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DEPLOYER_HARNESS_DEBIAN_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.org/debian\nSuites: bookworm\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example.org/debian"
    monkeypatch.setenv("DEPLOYER_HARNESS_DEBIAN_MIRROR", "http://other.example.org/debian")
    assert debian_mirror(tmp_path) == "http://other.example.org/debian"
