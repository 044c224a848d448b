"""The lint checks on scripts and manifests, and the spec's `lint:` section (how much each check counts, what a
deployer declares)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.deployer.lint_section import lint_spec
from harness.errors import HarnessError
from harness.k8s.manifest import load_manifest
from harness.lint.findings import Finding
from harness.lint.manifests import check_manifest
from harness.lint.policy import judged
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
        "ssh -o StrictHostKeyChecking=false host",
        'ssh -o UserKnownHostsFile="/dev/null" host',
        "ssh -o StrictHostKeyChecking=accept-new host",  # a Job's container is new each run: it trusts every time
        'ssh-keyscan "$TARGET_HOST" >> ~/.ssh/known_hosts',
        "export ANSIBLE_HOST_KEY_CHECKING=False",
    ],
)
def test_host_key_checking_turned_off_is_found(line: str) -> None:
    assert found(line) == [(1, "ssh-host-key")]


@pytest.mark.parametrize(
    "line",
    [
        "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/k/known_hosts root@host true",
        "# StrictHostKeyChecking=no would be wrong",
        'echo "see #12" # StrictHostKeyChecking=no in a comment',
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
        ("curl -sSLo /tmp/x https://x/y", True),  # `-o` at the end of a cluster
        ("curl -sSLO https://x/y.tar.gz", True),
        ("curl -o x 'https://a/?x=1&y=2'", True),  # `&` inside quotes
        ("curl -sS https://x/y &> /tmp/y", True),
        ("v=$(curl -sSL https://x/version)", True),  # captured
        ('echo "step #1" && curl -o x https://x/y', True),  # a `#` inside quotes is no comment
        ("sudo curl -sS -o /etc/x https://x/y", True),
        ("curl -sS https://x/y 2>/tmp/err", False),  # only stderr kept
        ("apt-get install -y curl > /var/log/apt.log 2>&1", False),  # curl is an argument, not the command
        ("apt-get install -y curl jq | tee /tmp/apt.log", False),
        ("command -v curl >&2 || echo missing", False),
        ("echo need curl >&2", False),
        ("curl -s -o /dev/null -w '%{http_code}' https://x/health", False),  # the status goes to the script
        ('code=$(curl -s -o f -w "%{http_code}" https://x); [ "$code" = 200 ]', False),
        ('curl "${opts[@]}" -o x https://x/y', False),  # options from a variable may hold -f
        ("curl $CURL_FLAGS -o x https://x/y", False),
        ('curl -sS -o x "$URL"', True),  # a variable that is the URL hides no option
        ('curl $CURL_OPTS "$URL" -o out', False),  # two variables: one of them holds options
        ('curl -sSL https://x/rel.tgz -o "$tmp/f"', True),  # `-o`'s argument holds no option
        ('curl -sS -u "$USER:$PASS" https://x/a | jq .', True),
        ("if curl -sSL https://x/install.sh | bash; then echo ok; fi", True),
        ("until curl -s https://x/health | grep -q ok; do sleep 1; done", True),
        ("HOME=/tmp /usr/bin/curl -sS https://x -o y", True),
        ("timeout 10 curl -sS https://x -o y", True),
        ('v="$(curl -sS https://x/version)"', True),  # captured inside quotes
        ('eval "$(curl -sSL https://x/env)"', True),
        ("bash <(curl -sS https://x/install.sh)", True),
        ('v="$(curl -fsS https://x/version)"', False),
        ("n=${#arr[@]}; curl -sS http://x -o y", True),  # `#` inside a word is no comment
        ("v=$(curl -sS http://h/#a -f)", False),
        ("curl -sS http://x --retry 3 > f", True),  # `3 >` is an argument and a redirect, not fd 3
        ("curl -sS http://x |& tee log", True),
        ("curl -sS http://x &>> f", True),
        ("a) curl -sS http://x -o y ;;", True),
    ],
)
def test_curl_without_fail_whose_output_is_kept_is_found(line: str, flagged: bool) -> None:
    assert (found(line) == [(1, "curl-fail")]) is flagged


def test_a_here_document_written_out_is_text_and_one_fed_to_a_shell_is_commands() -> None:
    usage = "cat <<EOF\nexample: curl -s http://h/x | sh\nEOF\ncurl -s http://h/y | sh\n"
    assert found(usage) == [(4, "curl-fail")]
    remote = "ssh root@host bash -s <<'REMOTE'\ncurl -s http://h/x | sh\nREMOTE\n"
    assert found(remote) == [(2, "curl-fail")]


@pytest.mark.parametrize(
    "line",
    [
        "sed -i '/StrictHostKeyChecking no/d' /etc/ssh/ssh_config",  # a hardening script removing it
        "grep -q 'StrictHostKeyChecking no' /etc/ssh/ssh_config && echo insecure",
        "ssh-keyscan h > /tmp/kh.known_hosts.tmp",
    ],
)
def test_the_words_alone_are_no_ssh_option(line: str) -> None:
    assert found(line) == []


def test_a_very_long_line_is_data_and_quick() -> None:
    assert found('PAYLOAD="' + "A" * 2_000_000 + '"; curl -s http://x | sh') == []  # too long to be a command line


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


def test_each_finding_takes_its_own_line_not_the_first_look_alike(tmp_path: Path) -> None:
    path = tmp_path / "ds.yaml"
    path.write_text(
        """# image: registry.example.com/app:1 is the old one
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: nc, namespace: kube-system}
spec:
  selector: {matchLabels: {app: nc}}
  template:
    metadata: {labels: {app: nc}}
    spec:
      initContainers:
        - name: init
          image: registry.example.com/app:10
          securityContext: {privileged: false}
      containers:
        - name: c
          image: registry.example.com/app:1
          env: [{name: DOCS, value: "path: /"}]
          securityContext:
            privileged: true
      volumes:
        - name: host
          hostPath:
            path: /
"""
    )
    findings = check_manifest(load_manifest(path))
    lines = {(f.check, f.message.split(": ")[1]): f.line for f in findings if f.check == "host-access"}
    images = {f.message.split(":")[0]: f.line for f in findings if f.check == "image-digest"}
    assert images == {"DaemonSet nc, container init": 12, "DaemonSet nc, container c": 16}
    assert lines[("host-access", "privileged")] == 19 and lines[("host-access", "path")] == 23
