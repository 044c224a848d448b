"""Flux's image automation, end to end, ready to run on the harness's machines: the policy over the Job's image,
the builds of the deployer's commits and what the policy picks after each, the setter markers of the manifest and
whether the Kustomization that applies it may replace the Job. The steps that run it are checks/gitops_update.py."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.deployer.paths import read_elsewhere
from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError, NotApplicable
from harness.gitops.flux import Kustomization, Marker, applies, job_forced, markers, read_flux
from harness.gitops.judge import tag_rules, workload, workload_images
from harness.gitops.policy import Policy
from harness.gitops.sequence import Build, builds
from harness.gitops.setter import Rewrite, set_images
from harness.gitops.tags import history
from harness.k8s.manifest import manifest_sources, manifest_tree, written_files
from harness.lint.schemas import manifest_files
from harness.rollback.previous import check_out


@dataclass(frozen=True)
class Plan:
    policy: Policy
    image: str  # the ImageRepository's image, which the setters write
    builds: list[Build]  # oldest first; the last is the newest commit's
    repository: Path
    applying: list[Kustomization]  # the Kustomizations whose path holds the manifest
    forced: bool  # the Job itself asks Flux to replace it

    @property
    def replaceable(self) -> bool:
        """A Job's pod template is immutable: a new image reaches it only when Flux may delete and re-create it."""
        return self.forced or any(k.force for k in self.applying)


def plan(spec: DeployerSpec) -> Plan:
    """The run's plan, or why it cannot run (:class:`NotApplicable`); read once per deployer folder and run."""
    key = (spec.folder.resolve(), spec.manifest.resolve())
    if key not in _PLANS:
        try:
            _PLANS[key] = _plan(spec)
        except HarnessError as exc:
            _PLANS[key] = exc
    found = _PLANS[key]
    if isinstance(found, HarnessError):
        raise found.with_traceback(None)
    return found


_PLANS: dict[tuple[Path, Path], Plan | HarnessError] = {}


def _plan(spec: DeployerSpec) -> Plan:
    flux = read_flux(manifest_files([spec.folder, *spec.gitops.paths], skip={spec.path.resolve()}))
    if not flux:
        raise NotApplicable(f"no Flux image automation objects (ImagePolicy, ImageRepository) in {spec.folder}")
    commits, branch, root = history(spec.folder, read_elsewhere(spec))
    if root is None or not commits:
        raise NotApplicable(f"no git history for {spec.folder}: no commit to push")
    job = workload(spec.manifest)
    if job.get("kind") != "Job":
        raise NotApplicable("the end-to-end run re-creates a Job; this deployer's workload is no Job")
    policies = {p.name: p for image in workload_images(job) for p in flux.policies_for(image)}
    if not policies:
        raise NotApplicable("no ImagePolicy selects the Job's image: the automation never changes it")
    elsewhere = "read here: give the folder that holds it in `gitops.paths`"
    if not flux.automations:
        raise NotApplicable(f"no ImageUpdateAutomation {elsewhere} (without one, nothing runs the setters)")
    applying = [k for k in flux.kustomizations if applies(k, spec.manifest, root)]
    if not applying:
        raise NotApplicable(f"no Flux Kustomization that applies {spec.manifest.name} {elsewhere}")
    rules, skipped = tag_rules(spec, root)
    if not rules:
        raise NotApplicable("no tags to simulate: no docker/metadata-action step in the workflows, no `gitops.tags`")
    marked = {m.policy for f in written_files(spec.manifest) for m in markers(f)}
    policy = next((p for p in policies.values() if p.name in marked), next(iter(policies.values())))
    found = builds(policy, commits, branch, rules)
    if found[-1].pick.tag is None and skipped:
        raise NotApplicable(f"{policy.name} picks nothing from the tags simulated; it may from those not: {skipped}")
    return Plan(policy, flux.repositories[policy.repository], found, root.resolve(), applying, job_forced(job))


def manifest_copy(spec: DeployerSpec, repository: Path, commit: str | None, into: Path) -> Path:
    """The manifest and what it reads, at ``commit`` (None: as the working tree has them), in a folder of their
    own for the setters to write in; the manifest's path there."""
    if commit is not None:
        read = manifest_tree(spec.manifest, repository)
        return check_out(repository, commit, [spec.manifest, *read], into).moved(spec.manifest)
    for path in {spec.manifest, *manifest_sources(spec.manifest)}:  # the files themselves: exact for the tree
        if path.is_file() and path.resolve().is_relative_to(repository):
            target = into / path.resolve().relative_to(repository)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    moved = into / spec.manifest.resolve().relative_to(repository)
    moved.mkdir(parents=True, exist_ok=True) if spec.manifest.is_dir() else None
    return moved


def set_tag(manifest: Path, plan: Plan, tag: str) -> tuple[list[Marker], list[Rewrite], list[Marker]]:
    """The setters of the plan's policy, in the files the manifest is written in, set to ``tag``: the markers,
    the lines rewritten, and the markers whose line could not be rewritten."""
    marked = [m for f in written_files(manifest) for m in markers(f) if m.policy == plan.policy.name]
    return marked, *set_images(marked, plan.image, tag)


def workdir(base: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"gitops-{name}-", dir=base))
