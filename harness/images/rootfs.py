"""The Debian root filesystem, built with debootstrap and imported without a registry."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import docker
import yaml

from harness import PROJECT
from harness.engine.labels import CACHE
from harness.errors import HarnessError, ImageBuildError
from harness.images.dockerfile_build import Progress, build_once, image_exists

MIRROR_ENV = "DEPLOYER_HARNESS_DEBIAN_MIRROR"
# Imported images have an empty config; STOPSIGNAL cannot be set by `docker import`
# on every engine, so the machine Dockerfiles set it.
_IMPORT_CHANGES = ['CMD ["/sbin/init"]', "ENV container=docker"]


def debian_mirror(sources_dir: Path = Path("/etc/apt")) -> str | None:
    """The Debian archive this machine's apt uses, so debootstrap goes where apt goes.

    ``DEPLOYER_HARNESS_DEBIAN_MIRROR`` wins; None lets debootstrap use its default.
    """
    if os.environ.get(MIRROR_ENV):
        return os.environ[MIRROR_ENV]
    candidates: list[Path] = [sources_dir / "sources.list"]
    if (sources_dir / "sources.list.d").is_dir():
        candidates += sorted((sources_dir / "sources.list.d").glob("*.sources"))
        candidates += sorted((sources_dir / "sources.list.d").glob("*.list"))
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for uri in re.findall(r"^\s*(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return str(uri)
    return None


def load_recipe(path: Path) -> dict[str, Any]:
    try:
        recipe = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise HarnessError(f"cannot read the rootfs recipe: {exc}", where=path) from None
    if not isinstance(recipe, dict) or "suite" not in recipe:
        raise HarnessError("the rootfs recipe needs a `suite`", where=path, fix="add `suite: bookworm`")
    return recipe


def rootfs_tag(recipe_path: Path) -> str:
    identity = "\0".join([recipe_path.read_text(), debian_mirror() or "default", os.uname().machine])
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"{PROJECT}/rootfs:{digest[:12]}"


def ensure_rootfs(client: docker.DockerClient, recipe_path: Path, progress: Progress) -> str:
    tag = rootfs_tag(recipe_path)
    build_once(client, tag, lambda: _build(client, recipe_path, tag, progress))
    return tag


def _build(client: docker.DockerClient, recipe_path: Path, tag: str, progress: Progress) -> None:
    if shutil.which("debootstrap") is None:
        raise HarnessError(
            "debootstrap is not installed; it builds the Debian root filesystem offline",
            where=recipe_path,
            fix="`apt-get install -y debootstrap` (or `make setup`)",
        )
    recipe = load_recipe(recipe_path)
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix=f"{PROJECT}-rootfs-") as tmp:
        target = Path(tmp) / "rootfs"
        command = ["debootstrap", f"--variant={recipe.get('variant', 'minbase')}"]
        if recipe.get("include"):
            command.append("--include=" + ",".join(recipe["include"]))
        command += [recipe["suite"], str(target)]
        if mirror:
            command.append(mirror)
        progress(f"rootfs: debootstrap {recipe['suite']} (about a minute, once per recipe)")
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            log = target / "debootstrap" / "debootstrap.log"
            detail = log.read_text()[-3000:] if log.exists() else result.stderr[-3000:]
            raise ImageBuildError(
                f"debootstrap failed (exit {result.returncode}):\n{detail}",
                where=recipe_path,
                fix=f"check the package names and that the mirror answers (set {MIRROR_ENV} to choose one)",
            )
        # Images are rebuilt from these files; caches only add weight.
        shutil.rmtree(target / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (target / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        progress(f"rootfs: importing into {tag}")
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(target), "-cf", str(archive), "."], check=True)
        repository, _, version = tag.partition(":")
        changes = [*_IMPORT_CHANGES, f"LABEL {CACHE}=true"]
        client.api.import_image_from_file(str(archive), repository=repository, tag=version, changes=changes)
    if not image_exists(client, tag):
        raise ImageBuildError("docker import reported success but the image is missing", where=recipe_path)
