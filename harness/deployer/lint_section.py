"""The spec's ``lint:`` section: how much each check counts, and the findings a deployer declares on purpose.

lint:
  severity: {image-digest: ignore, cron-day-or: fail}   # fail, warn or ignore, by check
  allow:                                                 # declared, each with its reason: reported, not counted
    - {check: host-access, reason: "a node configurator: it works on the node through /host"}
    - {check: ssh-host-key, file: "scripts/*", reason: "..."}   # `file`: a pattern, from the deployer's folder
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.yaml_fields import Fields

SEVERITIES = ("fail", "warn", "ignore")

CHECKS = {
    "cron-name": "fail",
    "cron-format": "fail",
    "cron-user": "fail",
    "cron-newline": "fail",
    "cron-percent": "fail",
    "cron-day-or": "warn",
    "cron-mode": "fail",
    "ssh-host-key": "fail",
    "curl-fail": "fail",
    "image-latest": "fail",
    "image-digest": "warn",
    "host-access": "fail",
    "k8s-schema": "fail",
    "shellcheck": "fail",
    "shellcheck-warning": "warn",
    "hadolint": "fail",
    "hadolint-warning": "warn",
    "base-image": "fail",
    "base-digest": "warn",
    "lint-tool": "fail",
    "secret-in-command": "fail",
    "secret-in-log": "fail",
    "secret-in-image": "fail",
    "secret-readable": "fail",
    "gitops-marker": "fail",
    "gitops-force": "fail",
    "gitops-ttl": "warn",
    "gitops-pick": "fail",
    "gitops-policy": "fail",
}


DESCRIPTIONS = {  # what each check finds, for SARIF's rules and the README's table
    "cron-name": "a cron.d file whose name cron skips (it holds a dot, or another character cron refuses)",
    "cron-format": "a cron.d line that is not a schedule, a user and a command",
    "cron-user": "a cron.d entry with no user field",
    "cron-newline": "a cron.d file whose last line has no newline",
    "cron-percent": "an unescaped % in a cron command (cron ends the command there)",
    "cron-day-or": "day-of-month and day-of-week both restricted: cron runs when either matches",
    "cron-mode": "a cron.d file the deployer wrote that cron skips: not owned by root, or group/other writable",
    "ssh-host-key": "SSH host keys not checked (StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null)",
    "curl-fail": "curl without -f whose output is kept: an HTTP error page passes for the download",
    "image-latest": "a manifest's image with no tag, or :latest",
    "image-digest": "a manifest's image pinned by tag only",
    "host-access": "privileged, hostPID, hostNetwork or hostPath / in a pod",
    "k8s-schema": "a Kubernetes object that its schema refuses (strict: unknown fields too)",
    "shellcheck": "a shellcheck error in a script the deployer ships or runs inline",
    "shellcheck-warning": "a shellcheck warning in a script the deployer ships or runs inline",
    "hadolint": "a hadolint error in the deployer's Dockerfile",
    "hadolint-warning": "a hadolint warning in the deployer's Dockerfile",
    "base-image": "a Dockerfile base image with no tag, or :latest",
    "base-digest": "a Dockerfile base image pinned by tag only",
    "lint-tool": "a linter the lint scenario needs is missing or failed",
    "secret-in-command": "a secret value on a remote command line (every local user reads it in ps)",
    "secret-in-log": "a secret value in the deployer's log",
    "secret-in-image": "a secret value in the image: its history, configuration or a file it copies",
    "secret-readable": "a file holding a secret that others can read, at the end or for a while during the apply",
    "gitops-marker": "a Job image line without a setter marker, or a marker naming no ImagePolicy",
    "gitops-force": "a Kustomization that applies a Job without force: the new image cannot be applied",
    "gitops-ttl": "a Job with ttlSecondsAfterFinished that a Kustomization re-creates every interval",
    "gitops-pick": "an image policy that picks an older build than the newest (alphabetical over SHAs)",
    "gitops-policy": "an image policy that picks nothing from the tags CI makes",
}


@dataclass(frozen=True)
class Allowance:
    check: str
    file: str | None  # a pattern of paths from the deployer's folder; None: anywhere
    reason: str


@dataclass(frozen=True)
class LintSpec:
    severity: dict[str, str]
    allow: tuple[Allowance, ...] = ()


def default_lint() -> LintSpec:
    return LintSpec(dict(CHECKS))


def lint_spec(top: Fields) -> LintSpec:
    section = top.mapping("lint", known=("severity", "allow"))
    severity = section.string_map("severity")
    levels = section.mapping("severity")
    for check, level in severity.items():
        _known(levels, check)
        if level not in SEVERITIES:
            raise levels.error(check, f"is {level!r}", f"use one of: {', '.join(SEVERITIES)}")
    raw = section.data.get("allow") or []
    if not isinstance(raw, list):
        raise section.error("allow", "must be a list", "e.g. `- {check: host-access, reason: why it is needed}`")
    allow = []
    for index, entry in enumerate(raw):
        item = Fields(section.path, entry, section.field_name(f"allow[{index}]"), known=("check", "file", "reason"))
        check = item.text("check", required=True, fix=f"name one of: {', '.join(CHECKS)}")
        _known(item, check, "check")
        reason = item.text("reason", required=True, fix="say why the deployer needs it: the report shows it")
        allow.append(Allowance(check, item.optional_text("file"), reason))
    return LintSpec({**CHECKS, **severity}, tuple(allow))


def _known(fields: Fields, check: str, key: str | None = None) -> None:
    if check not in CHECKS:
        raise fields.error(key or check, f"names {check!r}, which is no lint check", f"use one of: {', '.join(CHECKS)}")
