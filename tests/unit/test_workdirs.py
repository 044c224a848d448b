"""Work folders: an owner file in each, and the sweep of those whose run is gone and kept nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from harness.engine.labels import Ownership, owner_of_this_process
from harness.workdirs import OWNER_FILE, make_workdir, sweep_workdirs


class Engine:
    """What the sweep asks the engine: containers kept by a run, or the marker of a run's failed scenario."""

    def __init__(self, kept_runs: set[str]) -> None:
        self.kept_runs = kept_runs
        self.containers = self.volumes = self

    def list(self, **options: Any) -> list[str]:
        labels = options["filters"]["label"]
        return [label for label in labels if label.split("=", 1)[1] in self.kept_runs]


def dead_owner() -> str:
    child = subprocess.Popen(["true"])
    child.wait()
    host, namespace, _, _ = owner_of_this_process().split("/")
    return f"{host}/{namespace}/{child.pid}/?"


def folder(root: Path, name: str, owner: str | None, run: str) -> Path:
    made = root / f"deployer-harness-{name}"
    made.mkdir()
    (made / "id_ed25519").write_text("a key")
    if owner is not None:
        (made / OWNER_FILE).write_text(f"{owner}\n{run}\n")
    return made


def test_only_folders_of_runs_that_are_gone_and_kept_nothing_are_removed(tmp_path: Path) -> None:
    gone = folder(tmp_path, "gone", dead_owner(), "run1")
    alive = folder(tmp_path, "alive", owner_of_this_process(), "run2")
    kept = folder(tmp_path, "kept", dead_owner(), "run3")
    unknown = folder(tmp_path, "older", None, "run4")  # made before folders had owners: nobody can tell
    other = tmp_path / "someone-else"
    other.mkdir()
    removed = sweep_workdirs(Engine({"run3"}), tmp_path)  # type: ignore[arg-type]
    assert removed == [gone]
    assert not gone.exists() and alive.exists() and kept.exists() and unknown.exists() and other.exists()


def test_a_new_work_folder_names_its_owner_and_run() -> None:
    ownership = Ownership()
    made = make_workdir(ownership)
    try:
        assert (made / OWNER_FILE).read_text().split() == [ownership.owner, ownership.run_id]
        assert made.name.startswith(f"deployer-harness-{ownership.run_id}-")
    finally:
        (made / OWNER_FILE).unlink()
        made.rmdir()
