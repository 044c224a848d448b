"""The lint checks that read Dockerfiles and Kubernetes objects, and the ones that run shellcheck and hadolint
(the real binaries, as the harness's dependencies install them), each finding on the line where it is written;
and the lint findings as SARIF."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from harness.checks import report as r
from harness.lint.dockerfile import base_images, hadolint
from harness.lint.findings import Finding
from harness.lint.schemas import manifest_files, validate_files
from harness.lint.shellcheck import InlineScript, shellcheck
from harness.reports.results import ItemResult
from harness.reports.sarif import sarif


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def bases(tmp_path: Path, text: str, args: dict[str, str] | None = None) -> list[tuple[str, int | None, str]]:
    dockerfile = _write(tmp_path / "Dockerfile", text)
    return [(f.check, f.line, f.message) for f in base_images(dockerfile, args or {})]


def test_a_base_with_no_tag_or_latest_fails_and_a_tag_alone_warns(tmp_path: Path) -> None:
    found = bases(
        tmp_path,
        """
        FROM debian
        FROM docker.io/library/debian:latest AS second
        FROM registry.example.com:5000/base:12.5
        FROM registry.example.com:5000/base:12.5@sha256:"""
        + "a" * 64
        + """
        FROM scratch
        FROM second
        FROM deployer-harness/deployer-base:bookworm
        """,
    )
    assert [(check, line) for check, line, _ in found] == [("base-image", 1), ("base-image", 2), ("base-digest", 3)]
    assert "no tag" in found[0][2] and "the tag latest" in found[1][2]


def test_arg_defaults_and_build_args_choose_the_base(tmp_path: Path) -> None:
    text = """
        # syntax=docker/dockerfile:1
        ARG BASE=debian
        ARG TAG
        FROM --platform=linux/amd64 \\
            ${BASE}:${TAG:-12} AS build
        ARG BASE=ignored-after-from
        FROM $BASE
        """
    found = bases(tmp_path, text)
    assert [(c, line) for c, line, _ in found] == [("base-digest", 4), ("base-image", 7)]
    assert "(`debian:12`)" in found[0][2]
    pinned = bases(tmp_path, text, {"TAG": "12.5@sha256:" + "b" * 64, "BASE": "mirror.example.org/debian"})
    assert [(c, line) for c, line, _ in pinned] == [("base-image", 7)]
    assert "mirror.example.org/debian" in pinned[0][2]


def test_a_base_from_an_arg_without_a_value_is_said(tmp_path: Path) -> None:
    found = bases(tmp_path, "ARG BASE\nFROM ${BASE}\n")
    assert found[0][:2] == ("base-image", 2) and "$BASE, which has no default" in found[0][2]


def test_hadolint_findings_keep_their_lines_and_leave_the_base_to_base_image(tmp_path: Path) -> None:
    dockerfile = _write(
        tmp_path / "Dockerfile",
        """
        FROM debian
        WORKDIR app
        # hadolint ignore=DL3000
        WORKDIR relative-on-purpose
        MAINTAINER someone@example.org
        """,
    )
    found = [(f.check, f.line, f.message.split(":")[0]) for f in hadolint(dockerfile, tmp_path)]
    assert ("hadolint", 2, "DL3000") in found
    assert all(line != 4 for _, line, _ in found)  # its own ignore comment is honoured
    assert not any(code in ("DL3006", "DL3007") for _, _, code in found)


def test_shellcheck_errors_fail_warnings_warn_and_inline_lines_are_the_manifests(tmp_path: Path) -> None:
    script = _write(tmp_path / "deploy.sh", '#!/bin/bash\nfor f in "$(ls)"; do echo "$f"; done\nunused=1\n')
    library = _write(tmp_path / "lib.sh", "x=1\n")  # sourced, no `#!`: read as bash, no "unknown shell" error
    manifest = tmp_path / "k8s" / "ds.yaml"
    inline = InlineScript(manifest, 'set -e\nwhile true; do\n  for f in "$(ls)"; do :; done\ndone\n', 20, "sh")
    found = sorted(
        (f.check, f.file.name, f.line, f.severity) for f in shellcheck([script, library], [inline], tmp_path)
    )
    assert ("shellcheck", "deploy.sh", 2, "fail") in found
    assert ("shellcheck-warning", "deploy.sh", 3, "warn") in found
    assert ("shellcheck", "ds.yaml", 22, "fail") in found  # the script's third line, written on line 22
    assert not [f for f in found if f[1] == "lib.sh" and f[0] == "shellcheck"]


def test_shellcheck_honours_its_disable_directive(tmp_path: Path) -> None:
    text = '#!/bin/sh\n# shellcheck disable=SC2066 # one pass on purpose\nfor f in "$*"; do echo "$f"; done\n'
    assert shellcheck([_write(tmp_path / "ok.sh", text)], [], tmp_path) == []


def test_unknown_fields_are_found_on_their_line_and_sops_or_custom_resources_are_not_findings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "k8s" / "all.yaml",
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: deploy}
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: deploy
                  image: registry.example.com/deploy:1.0
                  envv: []
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: key}
        stringData: {id: "ENC[AES256_GCM,data:eA==,iv:aQ==,tag:dA==,type:str]"}
        sops: {version: 3.9.1, mac: "ENC[AES256_GCM,data:bQ==,iv:aQ==,tag:dA==,type:str]"}
        ---
        apiVersion: image.toolkit.fluxcd.io/v1beta2
        kind: ImagePolicy
        metadata: {name: deploy}
        spec: {imageRepositoryRef: {name: deploy}, policy: {semver: {range: ">=1.0.0"}}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {ports: [{port: "80"}]}
        """,
    )
    result = validate_files([path])
    found = [(f.line, f.message.split(":")[0], f.message.split(":")[1].strip()) for f in result.findings]
    assert found == [(12, "Job deploy", "spec.template.spec.containers[0]"), (28, "Service s", "spec.ports[0].port")]
    assert [what for _, what in result.not_checked] == [
        "ImagePolicy deploy (image.toolkit.fluxcd.io/v1beta2): no schema offline"
    ]


def test_only_kubernetes_objects_outside_tests_are_read(tmp_path: Path) -> None:
    spec = _write(tmp_path / "harness.yaml", "manifest: k8s/job.yaml\n")
    kept = _write(tmp_path / "k8s" / "job.yaml", "kind: Job\n")
    _write(tmp_path / "tests" / "fixture.yaml", "kind: Job\n")
    _write(tmp_path / "k8s" / "notes.txt", "kind: Job\n")
    assert manifest_files([tmp_path], skip={spec}) == [kept.resolve()]
    broken = _write(tmp_path / "k8s" / "template.yaml", "a: {{ .Values.x }}\n")
    assert validate_files([broken]).not_checked[0][1].startswith("not YAML")


def test_sarif_results_name_the_file_from_the_root_and_suppress_declared_findings(tmp_path: Path) -> None:
    findings = [
        Finding("shellcheck", tmp_path / "d" / "deploy.sh", 3, "SC2066: once", "quote less"),
        Finding("image-digest", tmp_path / "d" / "k8s" / "job.yaml", 9, "tag only", "add a digest", severity="warn"),
        Finding("curl-fail", tmp_path / "d" / "x.sh", None, "no -f", "add -f", allowed="on purpose"),
    ]
    item = ItemResult(
        "d::lint",
        "d",
        "lint",
        "failed",
        0.1,
        properties=[(r.SCENARIO, "lint"), (r.LINT_DATA, json.dumps([f.to_data() for f in findings]))],
    )
    data = sarif([item], tmp_path)
    (run,) = data["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["curl-fail", "image-digest", "shellcheck"]
    first, second, third = run["results"]
    assert first["level"] == "error" and first["ruleIndex"] == 2
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "d/deploy.sh", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }
    assert second["level"] == "warning"
    assert "region" not in third["locations"][0]["physicalLocation"]
    assert third["suppressions"] == [{"kind": "external", "justification": "on purpose"}]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


def test_a_file_outside_the_root_keeps_its_absolute_uri(tmp_path: Path) -> None:
    finding = Finding("shellcheck", Path("/opt/elsewhere/x.sh"), 1, "m", "f")
    item = ItemResult(
        "d::lint", "d", "lint", "failed", 0.1, properties=[(r.LINT_DATA, json.dumps([finding.to_data()]))]
    )
    location = sarif([item], tmp_path)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "file:///opt/elsewhere/x.sh"}


def test_odd_documents_are_said_not_tracebacks_and_kustomize_patches_are_not_objects(tmp_path: Path) -> None:
    odd = _write(
        tmp_path / "k8s" / "odd.yaml",
        """
        apiVersion: 1
        kind: Job
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: [not, a, mapping]
        ---
        kind: ups
        driver: usbhid-ups
        """,
    )
    result = validate_files([odd])
    assert (result.findings[0].line, result.findings[0].message.split(":")[0]) == (1, "Job")
    assert "`apiVersion` is 1" in result.findings[0].message
    assert all(f.check == "k8s-schema" for f in result.findings)
    _write(tmp_path / "k8s" / "kustomization.yaml", "resources: [odd.yaml]\npatches:\n  - path: patch.yaml\n")
    _write(tmp_path / "k8s" / "patch.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    files = manifest_files([tmp_path / "k8s"], skip=set())
    assert [p.name for p in files] == ["kustomization.yaml", "odd.yaml"]


def test_from_lines_split_on_any_space_and_plus_alternatives_mean_set(tmp_path: Path) -> None:
    found = bases(tmp_path, "ARG SUFFIX\nFROM\tdebian:12${SUFFIX:+-slim}\n")
    assert [(c, line) for c, line, _ in found] == [("base-digest", 2)]
    assert "(`debian:12`)" in found[0][2]
    pinned = bases(tmp_path, "ARG SUFFIX\nFROM\tdebian:12${SUFFIX:+-slim}\n", {"SUFFIX": "1"})
    assert "(`debian:12-slim`)" in pinned[0][2]


def test_a_zsh_script_named_sh_is_not_shellchecks(tmp_path: Path) -> None:
    script = _write(tmp_path / "x.sh", "#!/bin/zsh\nsetopt extendedglob\n")
    assert shellcheck([script], [], tmp_path) == []
