"""The lint checks on scripts and manifests, and the spec's `lint:` section (how much each check counts, what a
deployer declares)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import HarnessError
from harness.k8s.manifest import load_manifest
from harness.lint.findings import Finding
from harness.lint.manifests import check_manifest
from harness.lint.policy import judged, lint_spec
from harness.lint.shell import check_script, shipped_scripts
from harness.yaml_fields import Fields


def found(text: str) -> list[tuple[int | None, str]]:
    return [(f.line, f.check) for f in check_script(Path("deploy.sh"), text)]


@pytest.mark.parametrize(
    "line",
    [
        "ssh -o StrictHostKeyChecking=no root@host true",
        "OPTS='-o StrictHostKeyChecking no'",
        "scp -o UserKnownHostsFile=/dev/null x root@host:/x",
        "  -o stricthostkeychecking=off",
    ],
)
def test_host_key_checking_turned_off_is_found(line: str) -> None:
    assert found(line) == [(1, "ssh-host-key")]


@pytest.mark.parametrize(
    "line",
    [
        "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/k/known_hosts root@host true",
        "# StrictHostKeyChecking=no would be wrong",
        "ssh -o StrictHostKeyChecking=accept-new host",
    ],
)
def test_host_key_checking_on_or_in_a_comment_raises_nothing(line: str) -> None:
    assert found(line) == []


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("curl -sSL https://x/i.sh | sh", True),
        ("curl -s -o /tmp/x https://x/y", True),
        ("curl -s https://x/y > /tmp/y", True),
        ("curl -s https://x/y \\\n  > /tmp/y", True),
        ("curl -fsSL https://x/i.sh | sh", False),
        ("curl --fail -o /tmp/x https://x/y", False),
        ("curl -sS --fail-with-body https://x | jq .", False),
        ("curl -s https://x/health >/dev/null 2>&1", False),  # nothing kept
        ("curl -s https://x/health", False),  # printed to the log only
    ],
)
def test_curl_without_fail_whose_output_is_kept_is_found(line: str, flagged: bool) -> None:
    assert (found(line) == [(1, "curl-fail")]) is flagged


def test_a_script_s_lines_count_from_where_it_starts(tmp_path: Path) -> None:
    assert [(f.line, f.check) for f in check_script(Path("k8s/job.yaml"), "set -e\ncurl -s x | sh", 14)] == [
        (15, "curl-fail")
    ]


def test_shipped_scripts_are_sh_files_and_files_with_a_shell_shebang_not_tests(tmp_path: Path) -> None:
    (tmp_path / "deploy.sh").write_text("echo\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "notify").write_text("#!/usr/bin/env bash\necho\n")
    (tmp_path / "scripts" / "tool.py").write_text("#!/usr/bin/python3\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.sh").write_text("echo\n")
    assert shipped_scripts(tmp_path) == [tmp_path / "deploy.sh", tmp_path / "scripts" / "notify"]


DAEMONSET = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nc, namespace: kube-system}
spec:
  selector: {matchLabels: {app: nc}}
  template:
    metadata: {labels: {app: nc}}
    spec:
      hostPID: true
      hostNetwork: true
      containers:
        - name: c
          image: {image}
          securityContext:
            privileged: true
          volumeMounts: [{name: host, mountPath: /host}]
      volumes:
        - name: host
          hostPath: {path: /}
"""


@pytest.mark.parametrize(
    ("image", "check"),
    [
        ("registry.example.com/nc", "image-latest"),
        ("registry.example.com:5000/nc:latest", "image-latest"),
        ("registry.example.com:5000/nc", "image-latest"),  # a registry's port is no tag
        ("registry.example.com/nc:1.4.0", "image-digest"),
        ("registry.example.com/nc:1.4.0@sha256:" + "a" * 64, None),
    ],
)
def test_an_image_is_pinned_by_digest_and_never_latest(tmp_path: Path, image: str, check: str | None) -> None:
    path = tmp_path / "ds.yaml"
    path.write_text(DAEMONSET.replace("{image}", image))
    findings = check_manifest(load_manifest(path))
    assert [(f.check, f.line) for f in findings if f.check.startswith("image")] == ([(check, 13)] if check else [])
    reach = [(f.line, f.message.split(": ")[1]) for f in findings if f.check == "host-access"]
    assert reach == [(9, "hostPID"), (10, "hostNetwork"), (15, "privileged"), (19, "path")]


def spec_of(data: object) -> Fields:
    return Fields(Path("harness.yaml"), {"lint": data})


def test_the_spec_sets_severities_and_declares_findings_with_their_reasons() -> None:
    spec = lint_spec(spec_of({"severity": {"image-digest": "ignore"}, "allow": [
        {"check": "curl-fail", "file": "scripts/*", "reason": "its output is only logged"}]}))  # fmt: skip
    folder = Path("/d")
    findings = [
        Finding("image-digest", folder / "k8s/job.yaml", 3, "m", "f", severity="warn"),
        Finding("curl-fail", folder / "scripts/status.sh", 2, "m", "f"),
        Finding("curl-fail", folder / "deploy.sh", 9, "m", "f"),
    ]
    out = judged(findings, spec, folder)
    assert [(f.severity, f.allowed) for f in out] == [
        ("ignore", None),
        ("fail", "its output is only logged"),
        ("fail", None),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"severity": {"image-digets": "warn"}}, "`lint.severity.image-digets` names 'image-digets', which is no lint"),
        ({"severity": {"image-digest": "loud"}}, "`lint.severity.image-digest` is 'loud'"),
        ({"allow": [{"check": "host-access"}]}, "`lint.allow[0].reason` is required"),
        ({"allow": [{"check": "nope", "reason": "x"}]}, "`lint.allow[0].check` names 'nope'"),
        ({"allow": {"check": "host-access"}}, "`lint.allow` must be a list"),
        ({"allowed": []}, "`lint.allowed` unknown field"),
    ],
)
def test_a_wrong_lint_section_is_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(HarnessError) as error:
        lint_spec(spec_of(yaml.safe_load(yaml.safe_dump(data))))
    assert message in str(error.value)
