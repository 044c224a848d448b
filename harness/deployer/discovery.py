"""Finding deployers by name in the deployers folder."""

from __future__ import annotations

from pathlib import Path

from harness.deployer.spec import SPEC_FILE
from harness.errors import HarnessError

ALL = "all"


def available(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{SPEC_FILE}"))


def resolve(root: Path, names: list[str]) -> list[Path]:
    """Folders of the named deployers (``all`` means every one) or a clear error."""
    found = available(root)
    if not root.is_dir():
        raise HarnessError(
            "the deployers folder does not exist",
            where=root,
            fix="run pytest from the repository that holds deployers/, or pass --deployers-dir",
        )
    wanted = found if ALL in names else list(dict.fromkeys(names))
    if not wanted:
        raise HarnessError(
            f"no deployer (a folder with {SPEC_FILE}) in this folder",
            where=root,
            fix=f"add deployers/<name>/{SPEC_FILE}",
        )
    for name in wanted:
        if name not in found:
            folder = root / name
            if folder.is_dir():
                raise HarnessError(
                    f"{SPEC_FILE} is missing",
                    where=folder,
                    fix=f"add {folder / SPEC_FILE} (see the README: 'Point it at your deployer')",
                )
            raise HarnessError(
                f"no deployer named {name!r}", where=root, fix=f"use one of: {', '.join(found) or '(none)'}, or `all`"
            )
    return [root / name for name in wanted]
