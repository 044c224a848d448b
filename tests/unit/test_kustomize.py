"""A kustomization folder as the manifest: the harness's subset of kustomize against kustomize itself (when this
machine has it), kustomize's name hash, the refusals of what the subset leaves out, and the deployer loaded."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.deployer.cross_checks import _closest, load_deployer
from harness.deployer.paths import read_elsewhere
from harness.errors import HarnessError
from harness.gitops.tags import history
from harness.k8s.manifest import load_manifest, manifest_sources, manifest_tree, written_files
from harness.kustomize import builtin, tool
from harness.kustomize.merge import strategic_merge
from harness.kustomize.render import BUILTIN, render
from harness.kustomize.transform import content_hash, new_image
from harness.rollback.previous import previous_commit

KUSTOMIZED = Path(__file__).parent.parent / "deployers" / "kustomized"
BASE_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: deploy}
spec:
  template:
    metadata: {labels: {x: y}}
    spec:
      restartPolicy: Never
      serviceAccountName: deployer
      containers:
        - name: deploy
          image: registry.example.org/deployer:1.0.0
          args: [a, b]
          env:
            - {name: A, value: "1"}
            - {name: B, value: "2"}
            - name: PW
              valueFrom: {secretKeyRef: {name: app-secrets, key: pw}}
          envFrom: [{configMapRef: {name: app-config}}]
          volumeMounts: [{name: key, mountPath: /ssh}]
        - name: side
          image: busybox:1.2@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      volumes:
        - {name: key, secret: {secretName: ssh-key}}
        - {name: scratch, emptyDir: {}}
---
apiVersion: v1
kind: Secret
metadata: {name: ssh-key}
stringData: {id: x}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects: [{kind: ServiceAccount, name: deployer}, {kind: ServiceAccount, name: other, namespace: elsewhere}]
---
apiVersion: v1
kind: Namespace
metadata: {name: ns1}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: "busybox:1.2"}]
"""
BASE = """\
resources: [job.yaml]
configMapGenerator:
  - name: app-config
    literals: [MODE=netserver, "ODD=<&>", 'QUOTED="x y"']
"""
OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
namePrefix: p-
nameSuffix: -s
commonLabels: {team: ops}
commonAnnotations: {note: hi}
labels:
  - pairs: {tier: t}
    includeTemplates: true
  - pairs: {only: meta}
resources: [../base]
images:
  - {name: registry.example.org/deployer, newTag: 2.0.0}
  - {name: busybox, digest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
patchesStrategicMerge: [env.yaml]
patchesJson6902:
  - target: {group: batch, version: v1, kind: Job, name: deploy}
    patch: |-
      - {op: add, path: /spec/backoffLimit, value: 2}
patches:
  - target: {kind: Job, name: "dep.*"}
    patch: |-
      apiVersion: batch/v1
      kind: Job
      metadata: {name: any}
      spec:
        template:
          spec:
            containers:
              - {name: deploy, args: [z]}
              - {name: added, image: "new:1"}
            volumes: [{name: scratch, $patch: delete}]
secretGenerator:
  - name: app-secrets
    envs: [secret.env]
configMapGenerator:
  - name: app-config
    behavior: merge
    literals: [MODE=standalone]
"""
ENV_PATCH = """\
apiVersion: batch/v1
kind: Job
metadata: {name: deploy}
spec:
  template:
    spec:
      containers:
        - name: deploy
          env:
            - {name: B, value: "22"}
            - {name: C, value: "3"}
            - {name: A, $patch: delete}
"""


@pytest.fixture
def overlay(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    (tmp_path / "overlay").mkdir()
    (tmp_path / "base" / "job.yaml").write_text(BASE_JOB)
    (tmp_path / "base" / "kustomization.yaml").write_text(BASE)
    (tmp_path / "overlay" / "kustomization.yaml").write_text(OVERLAY)
    (tmp_path / "overlay" / "env.yaml").write_text(ENV_PATCH)
    (tmp_path / "overlay" / "secret.env").write_text("# a comment\npw=hunter22\n\n")
    return tmp_path / "overlay"


def by_name(text: str) -> dict[tuple[str, str], Any]:
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(text) if o}


def test_the_subset_renders_every_field_it_knows(overlay: Path) -> None:
    objects = by_name(builtin.documents(builtin.build(overlay)))
    job = objects[("Job", "p-deploy-s")]
    assert job["metadata"]["namespace"] == "prod"
    assert job["metadata"]["labels"] == {"team": "ops", "tier": "t", "only": "meta"}
    assert job["spec"]["backoffLimit"] == 2
    pod = job["spec"]["template"]
    assert pod["metadata"] == {"labels": {"x": "y", "team": "ops", "tier": "t"}, "annotations": {"note": "hi"}}
    deploy, added, side = pod["spec"]["containers"]  # the patch's items first, then the ones it did not name
    assert (deploy["name"], added["name"], side["name"]) == ("deploy", "added", "side")
    assert deploy["args"] == ["z"] and deploy["image"] == "registry.example.org/deployer:2.0.0"
    assert [e["name"] for e in deploy["env"]] == ["B", "C", "PW"]
    assert side["image"] == "busybox@sha256:" + "b" * 64  # a digest alone drops the tag
    secret = deploy["env"][2]["valueFrom"]["secretKeyRef"]["name"]
    config = deploy["envFrom"][0]["configMapRef"]["name"]
    assert secret.startswith("p-app-secrets-s-") and config.startswith("p-app-config-s-")
    assert objects[("ConfigMap", config)]["data"] == {"MODE": "standalone", "ODD": "<&>", "QUOTED": "x y"}
    assert ("Secret", secret) in objects
    assert pod["spec"]["serviceAccountName"] == "p-deployer-s"
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["key"]
    assert pod["spec"]["volumes"][0]["secret"]["secretName"] == "p-ssh-key-s"
    binding = objects[("RoleBinding", "p-rb-s")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "p-deployer-s", "namespace": "prod"},
        {"kind": "ServiceAccount", "name": "other", "namespace": "elsewhere"},
    ]
    assert binding["roleRef"]["name"] == "r"  # no Role r among the resources: left as written
    assert ("Namespace", "prod") in objects
    daemonset = objects[("DaemonSet", "p-ds-s")]
    assert daemonset["spec"]["selector"]["matchLabels"] == {"app": "ds", "team": "ops"}
    cron = objects[("CronJob", "p-cj-s")]["spec"]["jobTemplate"]
    assert cron["metadata"]["labels"] == {"team": "ops", "tier": "t"}


def _kustomize() -> tool.Tool:
    found = tool.installed()
    if found is None:
        pytest.skip("no kustomize here (kustomize, or kubectl with kustomize v4+): nothing to compare against")
    return found


def test_the_subset_renders_what_kustomize_renders(overlay: Path) -> None:
    real = by_name(_kustomize().render(overlay))
    mine = by_name(builtin.documents(builtin.build(overlay)))
    assert sorted(mine) == sorted(real)
    for key, obj in real.items():
        assert mine[key] == obj, key


def test_the_kustomized_deployer_renders_alike_both_ways() -> None:
    manifest = KUSTOMIZED / "k8s" / "overlays" / "test"
    real = by_name(_kustomize().render(manifest))
    assert by_name(builtin.documents(builtin.build(manifest))) == real


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [  # names and hashes as kustomize 5.5 wrote them for these generators
        ("ConfigMap", {"A": "b"}, "b9t2424hkf"),
        ("ConfigMap", {"B": "<&>", "MODE": "netserver"}, "m4dfdc8dh4"),
        ("Secret", {"PW": "aHVudGVyMjI="}, "6559kk7g2b"),
    ],
)
def test_generated_names_hash_as_kustomize_hashes(kind: str, data: dict[str, str], expected: str) -> None:
    assert content_hash({"kind": kind, "type": "Opaque", "data": data}) == expected


@pytest.mark.parametrize(
    ("image", "entry", "expected"),
    [
        ("img", {"newTag": "2"}, "img:2"),
        ("img:1@sha256:a", {"newTag": "2"}, "img:2"),
        ("img:1", {"digest": "sha256:b"}, "img@sha256:b"),
        ("img:1", {"newTag": "2", "digest": "sha256:b"}, "img:2@sha256:b"),
        ("img:1", {"newName": "reg.example.org:5000/img"}, "reg.example.org:5000/img:1"),
        ("reg.example.org:5000/img", {"newTag": "3"}, "reg.example.org:5000/img:3"),
        ("other:1", {"newTag": "2"}, "other:1"),
    ],
)
def test_images_are_rewritten_as_kustomize_does(image: str, entry: dict[str, str], expected: str) -> None:
    name = "reg.example.org:5000/img" if image.startswith("reg.") else "img"
    assert new_image(image, [{"name": name, **entry}]) == expected


def test_strategic_merge_keys_lists_and_directives() -> None:
    target = {"spec": {"ports": [{"containerPort": 80, "name": "a"}], "tolerations": [{"key": "x"}], "k": 1}}
    patch = {"spec": {"ports": [{"containerPort": 80, "name": "b"}], "tolerations": [{"key": "y"}], "k": None}}
    assert strategic_merge(target, patch) == {
        "spec": {"ports": [{"containerPort": 80, "name": "b"}], "tolerations": [{"key": "y"}]}
    }
    assert strategic_merge(target, {"$patch": "delete"}) is None
    assert strategic_merge(target, {"spec": {"$patch": "replace", "k": 2}}) == {"spec": {"k": 2}}


def _refused(folder: Path, kustomization: str, files: dict[str, str] | None = None) -> str:
    folder.mkdir(exist_ok=True)
    (folder / "kustomization.yaml").write_text(kustomization)
    (folder / "job.yaml").write_text(BASE_JOB.split("---")[0])
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    with pytest.raises(HarnessError) as caught:
        builtin.build(folder)
    said = str(caught.value)
    assert "Traceback" not in said and "\n  fix: " in said
    return said


@pytest.mark.parametrize(
    ("kustomization", "files", "words"),
    [
        (
            "resources: [job.yaml]\nreplacements: []\n",
            None,
            ["kustomization.yaml", "`replacements`", "install kustomize"],
        ),
        ("resources: [job.yaml]\ncomponents: [../c]\n", None, ["`components`", "kubectl kustomize DIR"]),
        ("resources: [job.yaml]\nnamePrefx: a-\n", None, ["`namePrefx` unknown field", "namePrefix"]),
        ("resources: [https://github.com/x/y//k8s]\n", None, ["remote resource", "vendor it"]),
        ("resources: [job.yaml, gone.yaml]\n", None, ["gone.yaml, which does not exist"]),
        ("resources: [job.yaml, job.yaml]\n", None, ["builds Job deploy twice"]),
        (
            "resources: [job.yaml]\npatches: [{path: p.yaml}]\n",
            {"p.yaml": "kind: Job\nmetadata: {name: nope}\n"},
            ["p.yaml", "none of the resources"],
        ),
        (
            "resources: [job.yaml]\npatches: [{target: {kind: Job}, patch: '[{op: remove, path: /nope}]'}]\n",
            None,
            ["cannot be applied to Job deploy"],
        ),
        (
            "resources: [job.yaml]\nconfigMapGenerator: [{name: c, envs: [e.env]}]\n",
            {"e.env": "JUST_A_NAME\n"},
            ["e.env", "line 1", "with no `=`"],
        ),
        (
            "resources: [job.yaml]\nsecretGenerator: [{name: s, files: [missing.txt]}]\n",
            None,
            ["`secretGenerator[0].files`", "missing.txt", "spec's `secrets:`"],
        ),
        (
            "resources: [job.yaml]\nconfigMapGenerator: [{name: c, behavior: merge, literals: [a=b]}]\n",
            None,
            ["`configMapGenerator[0].behavior`", "behavior: create"],
        ),
        ("kind: Component\n", None, ["`kind` is 'Component'"]),
    ],
)
def test_what_the_subset_leaves_out_is_refused_by_name(
    tmp_path: Path, kustomization: str, files: dict[str, str] | None, words: list[str]
) -> None:
    said = _refused(tmp_path / "k", kustomization, files)
    for word in words:
        assert word in said


def test_a_folder_that_includes_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "kustomization.yaml").write_text("resources: [../b]\n")
    (tmp_path / "b" / "kustomization.yaml").write_text("resources: [../a]\n")
    with pytest.raises(HarnessError, match="includes itself"):
        builtin.build(tmp_path / "a")


def test_the_deployer_loads_with_either_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = KUSTOMIZED / "k8s" / "overlays" / "test"
    monkeypatch.setenv("DEPLOYER_HARNESS_KUSTOMIZE", "builtin")
    manifest = load_manifest(folder)
    assert manifest.rendered_by == BUILTIN
    assert manifest.job is not None and manifest.job.name == "test-hello-deploy"
    assert manifest.job.namespace == "infra" and manifest.job.backoff_limit == 2
    assert list(manifest.config_maps.values()) == [{"greeting": "hello from the overlay"}]
    env = {e.name: e for e in manifest.job.pod.containers[0].env}
    assert env["TARGET_HOST"].value == "198.51.100.61"
    assert written_files(folder)[0].name == "kustomization.yaml"
    assert {p.name for p in manifest_sources(folder)} >= {"test", "base", "job.yaml", "target.yaml"}
    if tool.installed() is not None:
        monkeypatch.setenv("DEPLOYER_HARNESS_KUSTOMIZE", "auto")
        assert load_manifest(folder).rendered_by != BUILTIN


def test_a_wrong_renderer_choice_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEPLOYER_HARNESS_KUSTOMIZE", "kustomise")
    with pytest.raises(HarnessError, match="use one of: auto, kustomize, kubectl, builtin"):
        render(tmp_path)


def test_kustomize_errors_are_passed_on_without_its_warnings(tmp_path: Path) -> None:
    found = _kustomize()
    (tmp_path / "kustomization.yaml").write_text("resources: [gone.yaml]\ncommonLabels: {a: b}\n")
    with pytest.raises(HarnessError) as caught:
        found.render(tmp_path)
    assert "gone.yaml" in str(caught.value) and "# Warning" not in str(caught.value)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl here")
def test_an_old_kubectl_is_not_taken_for_kustomize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl 1.20 (Debian's) carries kustomize v2, which lacks `patches`: its version line says nothing."""
    fake = tmp_path / "kubectl"
    fake.write_text('#!/bin/sh\necho \'Client Version: version.Info{Major:"1", Minor:"20"}\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/sbin:/sbin")
    tool.installed.cache_clear()
    try:
        assert subprocess.run(["kubectl"], capture_output=True, text=True).returncode == 0
        assert tool.installed("kubectl") is None
    finally:
        tool.installed.cache_clear()


EXTRAS = {
    "kustomization.yaml": """\
resources: [job.yaml]
commonLabels: {shared: common}
labels: [{pairs: {shared: labels, own: l}}]
patches:
  - path: two.yaml
  - target: {kind: Deployment}
    patch: |-
      - {op: add, path: /spec/x, value: 1}
configMapGenerator:
  - name: spaced
    envs: [spaced.env]
    options: {disableNameSuffixHash: true}
  - name: other
    behavior: merge
    literals: [added=1]
""",
    "job.yaml": BASE_JOB.split("---")[0] + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
    "two.yaml": """\
apiVersion: batch/v1
kind: Job
metadata: {name: deploy}
spec: {backoffLimit: 4}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
data: {patched: "yes"}
""",
    "spaced.env": "  padded=  two  \nplain=1\n",
}


@pytest.fixture
def extras(tmp_path: Path) -> Path:
    for name, text in EXTRAS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_multi_document_patches_unmatched_targets_label_order_and_env_spaces(extras: Path) -> None:
    objects = by_name(builtin.documents(builtin.build(extras)))
    job = objects[("Job", "deploy")]
    assert job["spec"]["backoffLimit"] == 4  # the first document of two.yaml
    assert objects[("ConfigMap", "other")]["data"] == {"patched": "yes", "added": "1"}  # its second; not hashed
    assert job["metadata"]["labels"] == {"shared": "common", "own": "l"}  # commonLabels win a shared key
    assert objects[("ConfigMap", "spaced")]["data"] == {"padded": "  two  ", "plain": "1"}
    assert "x" not in job["spec"]  # a target no object matches changes nothing, as in kustomize


def test_the_extras_render_as_kustomize_renders_them(extras: Path) -> None:
    assert by_name(builtin.documents(builtin.build(extras))) == by_name(_kustomize().render(extras))


def test_what_the_folder_reads_is_found_whatever_renders_it(tmp_path: Path) -> None:
    """Fields outside the subset (components) still name files lint, rollback and the setters need."""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "job.yaml").write_text(BASE_JOB.split("---")[0])
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [job.yaml]\nimages: [{name: x, newTag: '1'}]\n")
    (tmp_path / "component").mkdir()
    (tmp_path / "component" / "kustomization.yaml").write_text("kind: Component\npatches: [{path: p.yaml}]\n")
    (tmp_path / "component" / "p.yaml").write_text("kind: Job\nmetadata: {name: deploy}\n")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text("resources: [../base]\ncomponents: [../component]\n")
    names = [str(p.relative_to(tmp_path)) for p in written_files(tmp_path / "overlay")]
    assert names == [
        "overlay/kustomization.yaml", "base/kustomization.yaml", "base/job.yaml",
        "component/kustomization.yaml", "component/p.yaml",
    ]  # fmt: skip
    root = tmp_path.resolve()
    assert manifest_tree(tmp_path / "overlay", root.parent) == [root]  # the folder above base and overlay
    assert root not in manifest_tree(tmp_path / "overlay", root)  # never a repository's root: what it reads
    assert (root / "component" / "p.yaml") in manifest_tree(tmp_path / "overlay", root)
    with pytest.raises(HarnessError, match="`components` is not in the harness's subset"):
        builtin.build(tmp_path / "overlay")


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"job.yaml": "kind: Job\nmetadata: [a]\n"}, ["job.yaml", "`metadata` is no mapping"]),
        ({"job.yaml": "kind: List\nitems: [a, b]\n"}, ["job.yaml", "no object"]),
        (
            {"kustomization.yaml": "resources: [job.yaml]\nconfigMapGenerator: [{name: c, files: [sub]}]\n"},
            ["`configMapGenerator[0].files`", "which is a folder"],
        ),
        (
            {"kustomization.yaml": "resources: [job.yaml]\npatches: [{target: {name: '['}, patch: '{kind: Job}'}]\n"},
            ["`patches[0]`", "does not compile"],
        ),
        (
            {"kustomization.yaml": "resources: [job.yaml]\nimages: [{name: x, newTag: 1.10}]\n"},
            ["`images[0].newTag` is 1.1, not a string", "quote the value as you wrote it"],
        ),
        (
            {
                "kustomization.yaml": "resources: [job.yaml]\n"
                "patches: [{target: {kind: Job, labelSelector: 'a in (b)'}, patch: '{kind: Job}'}]\n"
            },
            ["set-based selector"],
        ),
        (
            {
                "kustomization.yaml": "resources: [job.yaml]\n"
                "patches: [{path: p.yaml, options: {allowNameChange: true}}]\n",
                "p.yaml": "kind: Job\nmetadata: {name: deploy}\n",
            },
            ["allowNameChange", "install"],
        ),
    ],
)
def test_odd_shapes_are_said_with_the_file_and_a_fix(tmp_path: Path, files: dict[str, str], words: list[str]) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "job.yaml").write_text(BASE_JOB.split("---")[0])
    (tmp_path / "kustomization.yaml").write_text("resources: [job.yaml]\n")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(HarnessError) as caught:
        builtin.build(tmp_path)
    said = str(caught.value)
    assert "\n  fix: " in said
    for word in words:
        assert word in said, said


def test_the_spec_may_name_the_kustomization_file(tmp_path: Path) -> None:
    folder = tmp_path / "kustomized"
    shutil.copytree(KUSTOMIZED, folder)
    spec_file = folder / "harness.yaml"
    spec_file.write_text(spec_file.read_text().replace("k8s/overlays/test", "k8s/overlays/test/kustomization.yaml"))
    assert load_deployer(folder, ["debian-12"]).manifest == folder / "k8s" / "overlays" / "test"


def test_odd_values_kustomize_would_carry_are_carried_not_crashed_on(tmp_path: Path) -> None:
    """A list where a name belongs, labels that are a list: left for the schema check to say, never a traceback."""
    (tmp_path / "job.yaml").write_text(BASE_JOB.split("---")[0])
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [job.yaml]\nnamePrefix: p-\npatches:\n"
        "  - {target: {kind: Job}, patch: '[{op: add, path: /spec/template/spec/volumes/0/secret/secretName, "
        "value: [x]}, {op: add, path: /metadata/labels, value: [y]}, {op: add, path: /data, value: {1: z}}]'}\n"
        "  - {target: {kind: Job, labelSelector: a=b}, patch: '{kind: Job, metadata: {name: x}, spec: {z: 1}}'}\n"
    )
    (job,) = builtin.build(tmp_path)
    assert job.name == "p-deploy" and job.obj["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"] == ["x"]
    assert "z" not in job.obj["spec"]  # its labels are no mapping: no selector matches them


def test_a_secret_named_as_written_gets_its_rendered_name_as_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "kustomized"
    shutil.copytree(KUSTOMIZED, folder)
    with (folder / "k8s" / "base" / "job.yaml").open("a") as job:
        job.write("---\napiVersion: v1\nkind: Secret\nmetadata: {name: hello-ssh}\nstringData: {id_ed25519: x}\n")
    monkeypatch.setenv("DEPLOYER_HARNESS_KUSTOMIZE", "builtin")
    with pytest.raises(HarnessError) as caught:
        load_deployer(folder, ["debian-12"])
    assert "the Secrets it takes: hello-secrets, test-hello-ssh" in str(caught.value)
    assert "fix: name the Secret the manifest mounts (as rendered): `ssh_key: {secret: test-hello-ssh" in str(
        caught.value
    )


def test_a_change_to_a_base_outside_the_folder_is_a_new_version(tmp_path: Path) -> None:
    """A base shared from outside the deployer's folder: a commit that changes only it is a commit of the deployer
    (gitops history) and makes the version before it the previous one (rollback)."""
    repo = tmp_path / "repo"
    folder = repo / "deployers" / "app"
    shutil.copytree(KUSTOMIZED, folder)
    shutil.move(folder / "k8s" / "base", repo / "shared-base")
    overlay = folder / "k8s" / "overlays" / "test" / "kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("../../base", "../../../../../shared-base"))

    def git(*args: str) -> str:
        env = {"GIT_AUTHOR_NAME": "d", "GIT_AUTHOR_EMAIL": "d@example.org", "GIT_COMMITTER_NAME": "d",
               "GIT_COMMITTER_EMAIL": "d@example.org", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # fmt: skip
        done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    first = git("rev-parse", "HEAD")
    job = repo / "shared-base" / "job.yaml"
    job.write_text(job.read_text().replace("activeDeadlineSeconds: 120", "activeDeadlineSeconds: 90"))
    git("commit", "-q", "-am", "the base only")
    (repo / "shared-base" / "README.md").write_text("notes beside the base\n")
    git("add", "-A")
    git("commit", "-q", "-m", "a note beside the base")  # no file the kustomization reads: no new version
    spec = load_deployer(folder, ["debian-12"])
    assert {p.name for p in read_elsewhere(spec)} == {"kustomization.yaml", "job.yaml"}
    commits, _, _ = history(spec.folder, read_elsewhere(spec))
    assert [c.subject for c in commits] == ["first", "the base only"]
    files = (spec.path, spec.folder / "tests")
    _, previous = previous_commit([spec.folder], spec.path, None, files, tuple(read_elsewhere(spec)))
    assert previous == first  # the note is no version: the base's change is the newest


@pytest.mark.parametrize(
    ("written", "taken", "meant"),
    [
        ("hello-ssh", ["hello-secrets", "test-hello-ssh"], "test-hello-ssh"),  # a namePrefix
        ("key", ["ssh-key-2", "test-key"], "test-key"),
        ("ssh", ["hello-ssh-known-hosts", "test-ssh"], "test-ssh"),
        ("key", ["monkey", "deploy-keys"], "monkey"),  # no name around it: the most alike, as difflib says
        ("env", ["app-env-b9t2424hkf", "other"], "app-env-b9t2424hkf"),  # a generator's hash after it
        ("env", ["env-prod", "environment"], "env-prod"),  # a nameSuffix
    ],
)
def test_the_fix_names_the_secret_a_written_name_most_likely_means(written: str, taken: list[str], meant: str) -> None:
    assert _closest(written, taken) == meant


def test_only_a_kustomization_s_files_outside_the_folder_are_versions(tmp_path: Path) -> None:
    plain = tmp_path / "app"
    shutil.copytree(Path(__file__).parent.parent / "deployers" / "hello", plain)
    (tmp_path / "shared.yaml").write_text((plain / "k8s" / "job.yaml").read_text())
    (plain / "harness.yaml").write_text((plain / "harness.yaml").read_text().replace("k8s/job.yaml", "../shared.yaml"))
    assert read_elsewhere(load_deployer(plain, ["debian-12"])) == []  # a plain file: its folder's versions, as before
