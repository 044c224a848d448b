"""``deployer-harness``: housekeeping outside pytest (what this computer allows, prune cached images, sweep dead
runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import docker.errors

from harness.ci_workflow import DEFAULT_PATH, write_workflow
from harness.deployer.init_spec import draft, write_draft
from harness.deployer.spec import SPEC_FILE
from harness.doctor import FAIL, run_checks
from harness.engine.client import connect
from harness.engine.labels import CACHE
from harness.engine.sweep import image_tags, sweep
from harness.errors import HarnessError
from harness.images.machine_cache import cache_key, load, save
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


def machine_images(action: str, archive: Path | None, *, build_missing: bool = False) -> int:
    client = connect()
    if action == "key":
        print(cache_key(client))
        return 0
    if archive is None:
        raise HarnessError(f"`images {action}` needs the archive's path", fix=f"deployer-harness images {action} PATH")
    if action == "save":
        print(f"saved {len(save(client, archive, build_missing=build_missing))} machine image(s) to {archive}")
    else:
        print(f"loaded the machine images from {archive}" if load(archive) else f"no archive at {archive}: cold run")
    return 0


def init_deployer(deployers_dir: Path, name: str | None, manifest: Path | None) -> int:
    if not name or manifest is None:
        raise HarnessError("init needs a deployer and its manifest", fix="deployer-harness init NAME --manifest PATH")
    folder = deployers_dir / name
    if not folder.is_dir():
        raise HarnessError(f"no folder {folder}", fix="give the deployer's folder name under --deployers-dir")
    found = draft(folder, manifest)
    for path in write_draft(folder, found, name):
        print(f"wrote {path}")
    for line in found.left:
        print(f"  to fill in: {line}")
    return 0


def init_ci(deployers_dir: Path, registry: str, install: str, output: Path) -> int:
    names = sorted(spec.parent.name for spec in deployers_dir.glob(f"*/{SPEC_FILE}"))
    if not names:
        raise HarnessError(
            f"no deployer in {deployers_dir} (a folder with {SPEC_FILE})",
            fix="give --deployers-dir, or add a deployer's harness.yaml first",
        )
    if output.exists():
        raise HarnessError(f"{output} exists: it is left as it is", fix="remove it, or give --output another path")
    print(f"wrote {write_workflow(output, names, registry, install, str(deployers_dir))} for {', '.join(names)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deployer-harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="what this computer lets the harness do, with the fix for each gap")
    doctor.add_argument("--repo", default=".", help="the repository whose git history rollback reads")
    commands.add_parser("prune", help="remove the cached images and cache volumes the harness made")
    init = commands.add_parser(
        "init", help="write a starting point: a deployer's harness.yaml from its manifest, or a CI workflow"
    )
    init.add_argument("name", nargs="?", help="the deployer (its folder in --deployers-dir) to write a spec for")
    init.add_argument("--manifest", type=Path, help="the deployer's real manifest (its Job or DaemonSet)")
    init.add_argument("--ci", choices=("github",), help="write a gate workflow for this CI system instead")
    init.add_argument("--deployers-dir", type=Path, default=Path("deployers"), help="where the deployers live")
    init.add_argument("--registry", default="ghcr.io/${{ github.repository_owner }}", help="where images go")
    init.add_argument("--install", default="deployer-harness", help="what `pip install` installs the harness from")
    init.add_argument("--output", type=Path, default=DEFAULT_PATH, help="the workflow file to write")
    images = commands.add_parser("images", help="the machine images as one archive, for a CI cache")
    images.add_argument("action", choices=("key", "save", "load"), help="key: the cache key; save or load ARCHIVE")
    images.add_argument("archive", nargs="?", type=Path, help="the archive's path (save, load)")
    images.add_argument("--all", action="store_true", help="save: build the machine images missing first")
    sweeper = commands.add_parser("sweep", help="remove containers, networks and volumes of runs that are gone")
    sweeper.add_argument("--kept", action="store_true", help="also remove machines kept with --keep")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return diagnose(Path(args.repo))
        if args.command == "prune":
            return prune()
        if args.command == "images":
            return machine_images(args.action, args.archive, build_missing=args.all)
        if args.command == "init" and args.ci:
            return init_ci(args.deployers_dir, args.registry, args.install, args.output)
        if args.command == "init":
            return init_deployer(args.deployers_dir, args.name, args.manifest)
        print(sweep(connect(), kept=args.kept))
        folders = sweep_workdirs(connect())  # after the kept machines went: their keys go too
        print(f"removed {len(folders)} work folder(s) of runs that are gone")
        return 0
    except HarnessError as exc:
        print(f"deployer-harness: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
