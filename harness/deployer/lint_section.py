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
    "ssh-host-key": "fail",
    "curl-fail": "fail",
    "image-latest": "fail",
    "image-digest": "warn",
    "host-access": "fail",
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
