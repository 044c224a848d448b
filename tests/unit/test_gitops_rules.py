"""Flux's image policy rules, semver ranges as Masterminds reads them, the tags docker/metadata-action makes, and
the setter markers: pure logic, checked against the controllers' documented behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gitops.flux import Kustomization, applies, image_name, markers, read_flux
from harness.gitops.policy import Policy, pick
from harness.gitops.semver_range import parse_version, satisfies
from harness.gitops.tags import Commit, TagRule, metadata_action_rules, render


def policy(rule: str, **settings: str) -> Policy:
    return Policy("flux-system:p", "flux-system:r", rule, **settings)


def test_alphabetical_is_byte_wise_and_picks_the_largest_hex_not_the_newest() -> None:
    assert pick(policy("alphabetical"), ["sha-1a2b3c4", "sha-f00d123", "sha-9999999"]).tag == "sha-f00d123"
    assert pick(policy("alphabetical", order="desc"), ["b", "a", "c"]).tag == "a"
    assert pick(policy("alphabetical"), ["Z", "a"]).tag == "a"  # byte-wise: lower case after upper case


def test_the_pattern_is_unanchored_and_extract_expands_groups_as_go_does() -> None:
    tags = ["main-abc1234-1700000000", "main-fff0000-1600000000", "pr-12-1800000000", "latest"]
    numeric = policy("numerical", pattern=r"main-[a-f0-9]+-(?P<ts>\d+)", extract="$ts")
    assert pick(numeric, tags).tag == "main-abc1234-1700000000"
    numbered = policy("numerical", pattern=r"-(\d+)$", extract="${1}")
    assert pick(numbered, tags).tag == "pr-12-1800000000"  # unanchored: `pr-` matches too
    assert pick(policy("alphabetical", pattern="nothing-matches"), tags).error == "no tag matches the policy"


def test_one_value_that_is_no_number_fails_a_numerical_policy() -> None:
    found = pick(policy("numerical"), ["1", "2.5", "latest"])
    assert found.tag is None and "failed to parse invalid numeric value 'latest'" in found.error
    assert pick(policy("numerical"), ["1", "2.5", "10"]).tag == "10"


def test_semver_keeps_the_versions_in_range_and_picks_the_highest() -> None:
    tags = ["1.0.0", "1.9.3", "v1.10.0", "2.0.0", "1.11.0-rc.1", "latest"]
    assert pick(policy("semver", range=">=1.0.0 <2.0.0"), tags).tag == "v1.10.0"
    assert pick(policy("semver", range=">=1.0.0-0 <2.0.0"), tags).tag == "1.11.0-rc.1"
    assert pick(policy("semver", range=">=3"), tags).error == "no tag satisfies the range '>=3'"


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.0.0", "1.2.0", True),
        (">=1.0.0 <2.0.0", "2.0.0", False),
        (">= 1.2, < 1.5", "1.4.9", True),
        ("^1.2.3", "1.9.0", True),
        ("^1.2.3", "2.0.0", False),
        ("^0.2.3", "0.3.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        ("1.2.x", "1.2.7", True),
        ("1.2.x", "1.3.0", False),
        ("*", "0.1.0", True),
        (">=1.0.0", "1.5.0-rc.1", False),  # a prerelease needs a range that names one
        ("1.2 - 1.4.5", "1.4.5", True),
        ("1.2 - 1.4", "1.4.9", True),
        ("1.2 - 1.4", "1.5.0", False),
        (">=1.2 <1.5 || >=3", "3.1.0", True),
        (">1.2", "1.2.5", False),
        ("<=1.2", "1.2.5", True),
        ("!=1.2.3", "1.2.3", False),
    ],
)
def test_semver_ranges(constraint: str, version: str, expected: bool) -> None:
    parsed = parse_version(version)
    assert parsed is not None
    assert satisfies(parsed, constraint) is expected


def test_versions_are_whole_as_flux_parses_them() -> None:
    assert str(parse_version("v1.2.3")) == "1.2.3"
    assert parse_version("1.2") is None and parse_version("v1") is None  # Flux skips them
    assert parse_version("sha-abc1234") is None
    assert pick(policy("semver", range=">=1.0.0"), ["1.2", "1.1.0"]).tag == "1.1.0"
    assert pick(policy("semver", range="=>1.0.0 =<1.1.0"), ["1.2.0", "1.1.0"]).tag == "1.1.0"


COMMIT = Commit("0123456789abcdef0123456789abcdef01234567", 1_790_000_000, "change")


def test_metadata_action_tags(tmp_path: Path) -> None:
    workflow = tmp_path / "build.yml"
    workflow.write_text(
        "jobs:\n  b:\n    steps:\n      - uses: docker/metadata-action@v5\n        with:\n          tags: |\n"
        "            type=sha\n            type=sha,prefix=,format=long\n"
        "            type=raw,value=main-{{sha}}-{{date 'X'}}\n            type=ref,event=branch,suffix=-x\n"
        "            type=raw,value={{date 'YYYYMMDD'}}.{{sha}}\n            type=semver,pattern={{version}}\n"
        "            type=sha,enable=false\n"
    )
    rules, skipped = metadata_action_rules([workflow])
    assert [rule.tag(COMMIT, "main") for rule in rules] == [
        "sha-0123456",
        COMMIT.sha,
        "main-0123456-1790000000",
        "main-x",
        "20260921.0123456",
    ]
    assert skipped == ["build.yml: `type=semver,pattern={{version}}`"]


def test_spec_templates() -> None:
    assert render("main-{sha}-{timestamp}", COMMIT, "main") == "main-0123456-1790000000"
    assert TagRule("raw", value="{branch}-{sha_long}").tag(COMMIT, "dev") == f"dev-{COMMIT.sha}"


def test_markers_and_what_a_kustomization_applies(tmp_path: Path) -> None:
    manifest = tmp_path / "k8s" / "job.yaml"
    manifest.parent.mkdir()
    manifest.write_text(
        'image: r.example.com/x:1 # {"$imagepolicy": "flux-system:x"}\n'
        'name: r.example.com/x # {"$imagepolicy": "flux-system:x:name"}\n'
        'tag: "1" # {"$imagepolicy": "apps:y:tag"}\n'
        'image: r.example.com/z:1 # {"$imagepolicy": broken}\n'
    )
    assert [(m.line, m.policy, m.part) for m in markers(manifest)] == [
        (1, "flux-system:x", ""),
        (2, "flux-system:x", "name"),
        (3, "apps:y", "tag"),
    ]
    kustomization = Kustomization("flux-system:k", "./k8s", False, "10m", tmp_path / "k.yaml", 1)
    assert applies(kustomization, manifest, tmp_path)
    assert not applies(Kustomization("flux-system:k", "./other", False, "", tmp_path, 1), manifest, tmp_path)
    assert image_name("r.example.com:5000/x/y:1.2@sha256:" + "a" * 64) == "r.example.com:5000/x/y"


def test_tags_only_ci_knows_are_not_simulated_and_tags_are_cleaned_as_the_action_does(tmp_path: Path) -> None:
    workflow = tmp_path / "build.yml"
    workflow.write_text(
        "jobs:\n  b:\n    steps:\n      - uses: docker/metadata-action@v5\n        with:\n          tags: |\n"
        "            type=raw,value=build-${{ github.run_number }}\n"
        "            type=raw,value={{commit_date 'X'}}\n"
        "            nightly\n"
        "            type=ref,event=branch\n"
    )
    rules, skipped = metadata_action_rules([workflow])
    assert [rule.tag(COMMIT, "feature/x") for rule in rules] == ["nightly", "feature-x"]
    assert len(skipped) == 2 and "run_number" in skipped[0] and "commit_date" in skipped[1]


def test_odd_shapes_are_read_as_nothing(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\nmetadata: [x]\nspec: {policy: {semver: 1.x}}\n"
    )
    assert [p.rule for p in read_flux([odd]).policies.values()] == ["semver"]
    workflow = tmp_path / "w.yml"
    workflow.write_text("jobs: [1]\n")
    assert metadata_action_rules([workflow]) == ([], [])
