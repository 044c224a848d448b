"""The spec against the manifest at load time: the ways a manifest really names its hosts and mounts its key are
all accepted (a false alarm stops a good deployer), and a mismatch names what the manifest does instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.deployer.cross_checks import load_deployer
from harness.errors import HarnessError
from harness.k8s.manifest import load_manifest
from harness.runner.sandbox import GENERATED_BASE, pod_name

KINDS = ["debian-12", "pve-8"]
SPEC = """\
machines:
  pve1: {kind: pve-8, address: 192.0.2.10, aliases: [pve1.example.org]}
ssh_key: {secret: ssh, key: id_ed25519}
secrets: {inventory: {hosts: "x"}}
"""


def job(env: str = "", volumes: str = "", mounts: str = "", env_from: str = "") -> str:
    return f"""\
apiVersion: batch/v1
kind: Job
metadata: {{name: deploy}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: deploy
          image: example/deploy:1
          env: [{env}]
          envFrom: [{env_from}]
          volumeMounts: [{mounts}]
      volumes: [{volumes}]
"""


SSH_VOLUME = "{name: key, secret: {secretName: ssh}}"


def load(tmp_path: Path, manifest: str, spec: str = SPEC) -> None:
    folder = tmp_path / "deployer"
    (folder / "k8s").mkdir(parents=True)
    (folder / "k8s" / "job.yaml").write_text(manifest)
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "harness.yaml").write_text(spec)
    load_deployer(folder, KINDS)


@pytest.mark.parametrize(
    "manifest",
    [
        job(env="{name: TARGET_HOST, value: '192.0.2.10'}", volumes=SSH_VOLUME),
        job(env="{name: TARGET, value: 'root@192.0.2.10:22'}", volumes=SSH_VOLUME),
        job(env="{name: TARGET_HOST, value: pve1.example.org}", volumes=SSH_VOLUME),  # the alias resolves
        job(env_from="{secretRef: {name: inventory}}", volumes=SSH_VOLUME),  # in a Secret the spec gives
        job(volumes=SSH_VOLUME + ", {name: hosts, configMap: {name: hosts}}")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: hosts}\ndata: {hosts.txt: '192.0.2.10\\n'}\n",
        job(env="{name: KEY, valueFrom: {secretKeyRef: {name: ssh, key: id_ed25519}}}, {name: H, value: 192.0.2.10}"),
        job(env="{name: H, value: 192.0.2.10}", env_from="{secretRef: {name: ssh}}"),
        job(env="{name: TARGET_HOST, value: pve1}", volumes=SSH_VOLUME),  # the machine's name resolves too
        job(volumes=SSH_VOLUME),  # no address at all: a host name in the image may resolve; nothing to refuse
    ],
    ids=[
        "env",
        "env-inside-text",
        "alias",
        "spec-secret",
        "configmap-volume",
        "key-in-env",
        "key-in-envfrom",
        "machine-name",
        "no-address",
    ],
)
def test_the_ways_manifests_name_hosts_and_take_keys_are_accepted(tmp_path: Path, manifest: str) -> None:
    spec = SPEC.replace('{hosts: "x"}', '{hosts: "192.0.2.10"}') if "inventory" in manifest else SPEC
    load(tmp_path, manifest, spec)


def test_an_address_the_manifest_never_names_says_where_the_manifest_points(tmp_path: Path) -> None:
    manifest = job(
        env="{name: TARGET_HOST, value: '198.51.100.7'}, {name: X, value: '192.0.2.100'}", volumes=SSH_VOLUME
    )
    with pytest.raises(HarnessError) as raised:
        load(tmp_path, manifest)
    text = str(raised.value)
    assert "`machines.pve1.address` is 192.0.2.10, which the manifest never names" in text
    assert "198.51.100.7 (container deploy, env TARGET_HOST)" in text
    assert "192.0.2.100 (container deploy, env X)" in text  # a longer address is not this one


def test_an_ssh_key_in_a_secret_the_pod_never_takes_names_the_secrets_it_does(tmp_path: Path) -> None:
    manifest = job(env="{name: H, value: 192.0.2.10}", volumes="{name: key, secret: {secretName: deploy-key}}")
    with pytest.raises(HarnessError) as raised:
        load(tmp_path, manifest)
    assert "the Secrets it takes: deploy-key" in str(raised.value)
    assert "fix: name the Secret the manifest mounts: `ssh_key: {secret: deploy-key, key: ...}`" in str(raised.value)


def test_a_daemonset_manifest_with_machines_says_to_declare_nodes(tmp_path: Path) -> None:
    daemonset = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: configure}
spec:
  selector: {matchLabels: {app: configure}}
  template:
    metadata: {labels: {app: configure}}
    spec:
      containers: [{name: configure, image: example/configure:1}]
"""
    with pytest.raises(HarnessError, match=r"declare the nodes in `cluster\.nodes`"):
        load(tmp_path, daemonset, "machines: {pve1: {kind: pve-8}}\n")


def test_pods_of_a_long_job_name_are_named_as_kubernetes_names_them() -> None:
    job_name = "a" * 63  # the longest Job name Kubernetes takes
    name = pod_name(job_name)
    assert len(name) == GENERATED_BASE + 5 == 63  # a hostname the kernel takes
    assert name.startswith("a" * GENERATED_BASE)
    assert pod_name("nut-deploy").startswith("nut-deploy-") and len(pod_name("nut-deploy")) == 16


def test_a_sidecar_the_harness_does_not_run_is_not_checked(tmp_path: Path) -> None:
    manifest = job(env="{name: H, value: 192.0.2.10}", volumes=SSH_VOLUME).replace(
        "      containers:\n",
        "      initContainers:\n"
        "        - name: log-shipper\n"
        "          image: example/shipper:1\n"
        "          restartPolicy: Always\n"
        "          env: [{name: T, valueFrom: {secretKeyRef: {name: shipper-token, key: token}}}]\n"
        "      containers:\n",
    )
    load(tmp_path, manifest)  # its Secret has no test value: it would matter only if it ran


SOPS_SECRET = """\
---
apiVersion: v1
kind: Secret
metadata: {name: api}
stringData:
  API_TOKEN: ENC[AES256_GCM,data:c2VjcmV0,iv:aXY=,tag:dGFn,type:str]
  API_USER: ENC[AES256_GCM,data:dXNlcg==,iv:aXY=,tag:dGFn,type:str]
sops:
  age: [{recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq, enc: x}]
  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]
  version: 3.9.1
"""
SOPS_JOB = job(env="{name: TARGET_HOST, value: '192.0.2.10'}", env_from="{secretRef: {name: api}}", volumes=SSH_VOLUME)


def test_a_sops_encrypted_secret_needs_the_specs_test_value_for_each_key(tmp_path: Path) -> None:
    with pytest.raises(HarnessError) as raised:
        load(tmp_path, SOPS_JOB + SOPS_SECRET, SPEC.replace("}}", "}, api: {API_TOKEN: test-token-1f}}"))
    message = str(raised.value)
    assert "the Secret api in job.yaml is SOPS-encrypted, and the spec gives no test value for API_USER" in message
    assert "`secrets: {api: {API_TOKEN: <test value>, API_USER: <test value>}}`" in message
    assert "ENC[" not in message


def test_a_sops_encrypted_secret_with_test_values_loads_and_its_ciphertext_is_no_value(tmp_path: Path) -> None:
    load(
        tmp_path, SOPS_JOB + SOPS_SECRET, SPEC.replace("}}", "}, api: {API_TOKEN: test-token-1f, API_USER: deployer}}")
    )
    manifest = load_manifest(tmp_path / "deployer" / "k8s" / "job.yaml")
    assert manifest.encrypted == {"api": ("API_TOKEN", "API_USER")} and manifest.secrets["api"] == {}


def test_a_sops_secret_needs_values_only_for_the_keys_the_pod_takes_and_the_run_does_not_fill(tmp_path: Path) -> None:
    partly = SOPS_SECRET.replace(
        "  API_USER: ENC[AES256_GCM,data:dXNlcg==,iv:aXY=,tag:dGFn,type:str]", "  API_USER: deployer"
    )
    one_key = job(
        env="{name: TARGET_HOST, value: '192.0.2.10'}, "
        "{name: TOKEN, valueFrom: {secretKeyRef: {name: api, key: API_TOKEN}}}",
        volumes=SSH_VOLUME,
    )
    load(tmp_path, one_key + partly, SPEC.replace("}}", "}, api: {API_TOKEN: test-token-1f}}"))  # API_USER: plain
    manifest = load_manifest(tmp_path / "deployer" / "k8s" / "job.yaml")
    assert manifest.encrypted == {"api": ("API_TOKEN",)} and manifest.secrets["api"] == {"API_USER": "deployer"}
