"""GitOps: the deployer's Flux image automation, simulated without a cluster (see :mod:`harness.gitops`): each
finding with its file, line and fix, counted as the spec's ``lint.severity`` and ``lint.allow`` say; the tag each
policy picks after each commit; what could not be simulated. A deployer with no Flux objects skips it."""

from __future__ import annotations

from harness.checks import report as r
from harness.checks.judged import report_findings
from harness.checks.report import StepReport
from harness.deployer.spec import DeployerSpec
from harness.deployment import Deployment
from harness.errors import NotApplicable
from harness.gitops.judge import judge
from harness.lint.policy import reported


def gitops_report(spec: DeployerSpec) -> StepReport:
    result = judge(spec)
    if not result.flux:
        raise NotApplicable(f"no Flux image automation objects (ImagePolicy, ImageRepository) in {spec.folder}")
    kept = reported(result.findings, spec.lint, spec.folder)
    counted = [f for f in kept if f.allowed is None]
    flux = result.flux
    report = StepReport()
    report.add(
        r.GITOPS,
        f"{len(flux.policies)} image polic(ies), {len(flux.automations)} update automation(s), "
        f"{len(flux.kustomizations)} Kustomization(s): {sum(f.severity == 'fail' for f in counted)} failing, "
        f"{sum(f.severity == 'warn' for f in counted)} warning(s)",
    )
    report_findings(report, kept, spec.folder, "gitops")
    if result.picks:
        report.section("gitops: the tag each policy picks after each commit", "\n".join(result.picks))
    if result.notes:
        report.section("gitops: not simulated", "\n".join(result.notes))
    return report


def gitops(deployment: Deployment) -> StepReport:
    return gitops_report(deployment.spec)
