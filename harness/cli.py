"""``deployer-harness``: housekeeping outside pytest (what this computer allows, prune cached images, sweep dead
runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import docker.errors

from harness.doctor import FAIL, run_checks
from harness.engine.client import connect
from harness.engine.labels import CACHE
from harness.engine.sweep import image_tags, sweep
from harness.errors import HarnessError
from harness.workdirs import sweep_workdirs


def prune() -> int:
    client = connect()
    removed = 0
    for image in client.api.images(filters={"label": f"{CACHE}=true"}):  # no inspection: a run may remove one
        for tag in image_tags(image) or [image["Id"]]:
            try:
                client.images.remove(tag, force=True)
                removed += 1
            except docker.errors.APIError as exc:
                print(f"kept {tag}: {exc.explanation}", file=sys.stderr)
    # Older builds of a changed deployer or machine lose their tag and linger as dangling images.
    dangling = client.images.prune(filters={"dangling": True, "label": f"{CACHE}=true"})
    volumes = 0
    for volume in client.volumes.list(filters={"label": f"{CACHE}=true"}):  # unpacked pod images, the apt cache
        try:
            volume.remove(force=True)
            volumes += 1
        except docker.errors.APIError as exc:
            print(f"kept volume {volume.name}: {exc.explanation}", file=sys.stderr)
    print(
        f"removed {removed} cached image tag(s), {len(dangling.get('ImagesDeleted') or [])} dangling layer(s) "
        f"and {volumes} cache volume(s)"
    )
    return 0


def diagnose(repo: Path) -> int:
    checks = run_checks(repo)
    for check in checks:
        print("\n".join(check.lines()))
    return 1 if any(check.status == FAIL for check in checks) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deployer-harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="what this computer lets the harness do, with the fix for each gap")
    doctor.add_argument("--repo", default=".", help="the repository whose git history rollback reads")
    commands.add_parser("prune", help="remove the cached images and cache volumes the harness made")
    sweeper = commands.add_parser("sweep", help="remove containers, networks and volumes of runs that are gone")
    sweeper.add_argument("--kept", action="store_true", help="also remove machines kept with --keep")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return diagnose(Path(args.repo))
        if args.command == "prune":
            return prune()
        print(sweep(connect(), kept=args.kept))
        folders = sweep_workdirs(connect())  # after the kept machines went: their keys go too
        print(f"removed {len(folders)} work folder(s) of runs that are gone")
        return 0
    except HarnessError as exc:
        print(f"deployer-harness: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
