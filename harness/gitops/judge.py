"""The gitops scenario's findings: the setter markers, the Kustomization that applies the Job, and the sequence
of tags the image policy picks as the deployer's commits are built (see :mod:`harness.gitops`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.deployer.paths import read_elsewhere
from harness.deployer.spec import DeployerSpec
from harness.gitops.flux import FORCE_LABEL, FluxObjects, applies, job_forced, mapping_of, markers, read_flux
from harness.gitops.policy import Policy
from harness.gitops.sequence import builds
from harness.gitops.tags import Commit, TagRule, history, metadata_action_rules, shallow, spec_rules
from harness.k8s.manifest import manifest_documents, written_files
from harness.k8s.written import image_line
from harness.kustomize.resources import containers, pod_specs
from harness.lint.findings import Finding
from harness.lint.schemas import manifest_files

SORTABLE_FIX = (
    "tag each build sortably, `main-<sha>-<unix time>` (metadata-action: `type=raw,value=main-{{sha}}-{{date 'X'}}`), "
    "and pick by the time: `filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts'}` with "
    "`policy: {numerical: {order: asc}}`"
)


@dataclass
class GitOpsResult:
    flux: FluxObjects
    findings: list[Finding] = field(default_factory=list)
    picks: list[str] = field(default_factory=list)  # each commit, its tags, and each policy's pick
    notes: list[str] = field(default_factory=list)


def judge(spec: DeployerSpec) -> GitOpsResult:
    files = manifest_files([spec.folder, *spec.gitops.paths], skip={spec.path.resolve()})
    result = GitOpsResult(read_flux(files))
    if not result.flux:
        return result
    commits, branch, root = history(spec.folder, read_elsewhere(spec))
    job = workload(spec.manifest)
    images = workload_images(job)
    result.findings += _marker_findings(spec, result.flux, images, files)
    result.findings += _kustomization_findings(spec, result.flux, job, root or spec.folder, result.notes)
    rules, skipped = tag_rules(spec, root)
    result.notes += [f"a metadata-action tag rule not simulated (no tag from a push): {s}" for s in skipped]
    if not rules:
        result.notes.append(
            "no tags to simulate: no docker/metadata-action step in .github/workflows, no `gitops.tags`"
        )
    elif not commits:
        result.notes.append(f"no git history for {spec.folder}: no picks to simulate")
    if commits and shallow(spec.folder):
        result.notes.append(f"a shallow clone: only {len(commits)} commit(s) to simulate (fetch the history whole)")
    for policy in {p.name: p for image in images for p in result.flux.policies_for(image)}.values():
        if rules and commits:
            result.findings += _pick_findings(result, policy, commits, branch, rules, bool(skipped))
    return result


def workload(path: Path) -> dict[str, Any]:
    for data in manifest_documents(path)[0]:
        if isinstance(data, dict) and data.get("kind") in ("Job", "DaemonSet", "CronJob"):
            return data
    return {}


def workload_images(workload: dict[str, Any]) -> list[str]:
    return [str(c.get("image", "")) for pod in pod_specs(workload) for c in containers(pod)]


def _marker_findings(spec: DeployerSpec, flux: FluxObjects, images: list[str], files: list[Path]) -> list[Finding]:
    """Markers are read wherever they are written (the manifest, a kustomization.yaml's `images:`)."""
    found = []
    own_files = written_files(spec.manifest)
    written = [m for path in dict.fromkeys([*(f.resolve() for f in own_files), *files]) for m in markers(path)]
    for marker in written:
        if marker.policy not in flux.policies:
            known = ", ".join(sorted(flux.policies)) or "none"
            message = (
                f"the setter marker names the image policy {marker.policy}, which no ImagePolicy read here defines"
            )
            fix = f"name one of: {known}; or give the folder that defines it in `gitops.paths`"
            found.append(Finding("gitops-marker", marker.file, marker.line, message, fix))
    for image in images:
        policies = flux.policies_for(image)
        if not policies or any(m.policy in {p.name for p in policies} for m in written):
            continue
        file, line = image_line(own_files, image) or (own_files[0] if own_files else spec.manifest, None)
        setter = f'{{"$imagepolicy": "{policies[0].name}"}}'
        found.append(
            Finding(
                "gitops-marker",
                file,
                line,
                f"the image `{image}` has no setter marker: the automation never rewrites it, so "
                f"{policies[0].name}'s picks never reach the Job",
                f"end the line with `# {setter}` (or mark the image in a kustomization.yaml's `images:`)",
            )
        )
    return found


def _kustomization_findings(
    spec: DeployerSpec, flux: FluxObjects, job: dict[str, Any], root: Path, notes: list[str]
) -> list[Finding]:
    applying = [k for k in flux.kustomizations if applies(k, spec.manifest, root)]
    if not applying:
        notes.append(f"no Kustomization read here applies {spec.manifest.name} (looked in {len(flux.kustomizations)})")
        return []
    metadata = mapping_of(job.get("metadata"))
    forced = job_forced(job)
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    found = []
    for kustomization in applying:
        if job.get("kind") == "Job" and not kustomization.force and not forced:
            found.append(
                Finding(
                    "gitops-force",
                    kustomization.file,
                    kustomization.line,
                    f"Kustomization {kustomization.name} applies Job {metadata.get('name')} without `force`: a Job's "
                    "pod template cannot change, so applying a new image fails (`field is immutable`) and the "
                    "deployer never runs it",
                    f"set `spec.force: true`, or label the Job `{FORCE_LABEL}: enabled`",
                )
            )
        if job.get("kind") == "Job" and ttl is not None:
            found.append(
                Finding(
                    "gitops-ttl",
                    kustomization.file,
                    kustomization.line,
                    f"Job {metadata.get('name')} has ttlSecondsAfterFinished: {ttl}: once it is deleted, Kustomization "
                    f"{kustomization.name} creates it again (every {kustomization.interval or 'interval'}), so the "
                    "deployer runs again and again",
                    "drop ttlSecondsAfterFinished (the automation replaces the Job when its image changes); a "
                    "deployer meant to run periodically is a CronJob",
                    severity="warn",
                )
            )
    return found


def tag_rules(spec: DeployerSpec, root: Path | None) -> tuple[list[TagRule], list[str]]:
    if spec.gitops.tags:
        return spec_rules(list(spec.gitops.tags)), []
    if root is None:
        return [], []
    workflows = sorted((root / ".github" / "workflows").glob("*.y*ml"))
    return metadata_action_rules(workflows)


def _pick_findings(
    result: GitOpsResult, policy: Policy, commits: list[Commit], branch: str, rules: list[TagRule], partial: bool
) -> list[Finding]:
    """The picks after each commit; ``partial``: some tag rules were not simulated, so a policy that picks
    nothing from the simulated tags may pick from the others (a semver policy over tags pushed as git tags)."""
    file, line = result.flux.policy_lines[policy.name]
    back: list[tuple[Commit, str, Commit]] = []
    last_error = ""
    for build in builds(policy, commits, branch, rules):
        commit, chosen, tags = build.commit, build.pick, build.tags
        when = datetime.fromtimestamp(commit.time, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        shown = chosen.tag if chosen.tag is not None else f"nothing ({chosen.error})"
        result.picks.append(f"{policy.name}: {commit.short} {when} {commit.subject[:50]!r}: tags {tags} -> {shown}")
        last_error = chosen.error
        if build.older and build.picked is not None and chosen.tag is not None:
            back.append((commit, chosen.tag, build.picked))
    found = []
    if back:
        commit, tag, older = back[0]
        message = (
            f"the policy {policy.name} ({policy.rule}) picks an older build than the newest at {len(back)} of "
            f"{len(commits)} commits: after {commit.short} ({commit.subject[:50]!r}) it picks {tag}, built from "
            f"the older {older.short}, so {commit.short}'s change never reaches the host"
        )
        found.append(Finding("gitops-pick", file, line, message, SORTABLE_FIX))
    if last_error and partial:
        result.notes.append(
            f"{policy.name} picks nothing from the tags simulated ({last_error}): it may from the others"
        )
    elif last_error:
        message = f"the policy {policy.name} picks nothing from the tags CI makes: {last_error}"
        found.append(Finding("gitops-policy", file, line, message, "make the policy match the tags CI makes"))
    return found
