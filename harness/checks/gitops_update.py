"""The gitops-update scenario's steps: Flux's image automation run end to end on the harness's machines. Before
the push, the Job the automation had applied (the pick after the previous commit, written by the setters into
that commit's manifest) runs; then the newest commit is built and tagged, the policy picks, the setters rewrite
the manifest, and the Job, whose pod template is immutable, is re-created only if Flux may replace it. The push
must reach the host: the re-created Job runs the newest commit's build."""

from __future__ import annotations

from pathlib import Path

from harness.checks import report as r
from harness.checks.converge import applied
from harness.checks.report import StepReport
from harness.deployer.version import Version
from harness.deployment import Deployment
from harness.gitops.sequence import Build
from harness.gitops.tags import Commit
from harness.gitops.update import Plan, manifest_copy, plan, set_tag, workdir
from harness.k8s.manifest import Manifest, load_manifest
from harness.rollback.version import version_at


def gitops_before(deployment: Deployment) -> StepReport:
    found = plan(deployment.spec)
    if len(found.builds) < 2:
        report = StepReport()
        report.add(r.GITOPS_UPDATE, f"{found.builds[-1].commit.short} is the first commit: no Job ran before it")
        return report
    before = found.builds[-2]
    if before.pick.tag is None or before.picked is None:
        report = StepReport()
        report.add(r.GITOPS_UPDATE, f"before the push, {found.policy.name} picked nothing: no Job ran")
        return report
    into = workdir(deployment.bench.workdir, deployment.spec.name)
    manifest = manifest_copy(deployment.spec, found.repository, before.commit.sha, into)
    set_tag(manifest, found, before.pick.tag)
    version = Version("before the push", _image(deployment, found, before.picked), _loaded(deployment, manifest))
    report = applied(deployment, version)
    report.properties.insert(0, (r.GITOPS_UPDATE, f"before the push: {_said(found, before)}"))
    return report


def gitops_push(deployment: Deployment) -> StepReport:
    found = plan(deployment.spec)
    head = found.builds[-1]
    report = StepReport()
    report.add(r.GITOPS_UPDATE, f"the push: {_said(found, head)}")
    if head.pick.tag is None or head.picked is None:
        report.failure = f"after {head.commit.short}, {found.policy.name} picks nothing: {head.pick.error}"
        return report
    into = workdir(deployment.bench.workdir, deployment.spec.name)
    manifest = manifest_copy(deployment.spec, found.repository, None, into)
    before = found.builds[-2] if len(found.builds) > 1 else None
    if before is not None and before.pick.tag is not None:  # what the automation committed before the push
        set_tag(manifest, found, before.pick.tag)
    marked, rewrites, unread = set_tag(manifest, found, head.pick.tag)
    for rewrite in rewrites:
        report.add(r.GITOPS_REWRITE, rewrite.describe(into))
    for marker in unread:
        report.add(r.GITOPS_REWRITE, f"not rewritten (a value the simulation cannot set): {marker.text}")
    refused = _refused(found, head, len(marked) - len(unread), len(rewrites))
    if refused is not None:
        report.failure = refused
        return report
    version = Version("after the push", _image(deployment, found, head.picked), _loaded(deployment, manifest))
    ran = applied(deployment, version)
    report.properties += ran.properties
    report.sections += ran.sections
    report.failure = ran.failure
    if report.failure is None and head.picked != head.commit:
        report.failure = (
            f"the push did not reach the host: after {head.commit.short} ({head.commit.subject[:50]!r}) "
            f"{found.policy.name} picks {head.pick.tag}, built from the older {head.picked.short}, and the Job "
            f"re-created ran that build"
        )
    return report


def _refused(found: Plan, head: Build, marked: int, rewritten: int) -> str | None:
    """Why the push never reaches the Job: no setter, a pick that did not change, a Job Flux may not replace."""
    name = found.policy.name
    if not marked:
        return (
            f"no setter marker for {name} that the simulation can set in the files the manifest is written in "
            f"(see gitops_rewrite): nothing rewrites what the Job reads; mark the image line "
            f'`# {{"$imagepolicy": "{name}"}}`'
        )
    if not rewritten:
        return (
            f"after {head.commit.short}, {name} still picks {head.pick.tag}: the setters change nothing, so the "
            "automation commits nothing and the Job is not re-created"
        )
    if not found.replaceable:
        where = ", ".join(k.name for k in found.applying) or "the Kustomization"
        return (
            f"{where} cannot apply the new Job: a Job's pod template is immutable (`field is immutable`), and "
            "without `force: true` (or the Job's force label) Flux never re-creates it; the host stays at the "
            "build before the push"
        )
    return None


def _said(found: Plan, build: Build) -> str:
    picked = f"{build.pick.tag} (built from {build.picked.short})" if build.picked else f"nothing ({build.pick.error})"
    made = ", ".join(build.tags) or "nothing"
    return f"{build.commit.short} {build.commit.subject[:50]!r} tagged {made}; {found.policy.name} picks {picked}"


def _image(deployment: Deployment, found: Plan, commit: Commit) -> str:
    """The build of ``commit``: the image under test for the newest commit, else built from git at it."""
    if commit == found.builds[-1].commit:
        return deployment.current.image
    return version_at(deployment.bench, deployment.spec, found.repository, commit.sha).image


def _loaded(deployment: Deployment, manifest: Path) -> Manifest:
    """The rewritten manifest, its Secrets masked from now on."""
    return deployment.secrets.read(load_manifest(manifest))
