from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.expand import expand
from harness.k8s.manifest import load_manifest
from harness.k8s.pod_env import Sources, container_env, sub_path_entries, volume_files


def test_whole_addresses_only_are_mapped() -> None:
    mapping = AddressMap({"192.0.2.1": "172.18.0.2", "192.0.2.10": "172.18.0.3"})
    assert (
        mapping.apply("192.0.2.1 192.0.2.10 192.0.2.100 10.192.0.2.1")
        == "172.18.0.2 172.18.0.3 192.0.2.100 10.192.0.2.1"
    )
    assert mapping.apply("root@192.0.2.10:22") == "root@172.18.0.3:22"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("$(A)-$(B)", "1-$(B)"), ("$$(A)", "$(A)"), ("plain $A", "plain $A"), ("$(A)$(A)", "11")],
)
def test_kubernetes_variable_expansion(text: str, expected: str) -> None:
    assert expand(text, {"A": "1"}) == expected


POD = """
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: c
          image: i
          envFrom:
            - secretRef: {name: s}
            - configMapRef: {name: optional-missing, optional: true}
          env:
            - {name: HOST, value: "192.0.2.10"}
            - {name: URL, value: "ssh://$(HOST)/$(TOKEN)"}
            - {name: TOKEN, value: overridden}
          volumeMounts:
            - {name: key, mountPath: /etc/deployer/ssh}
            - {name: conf, mountPath: /etc/app/app.conf, subPath: app.conf}
      volumes:
        - name: key
          secret:
            secretName: k
            defaultMode: 0600
            items: [{key: id, path: id_ed25519}, {key: id, path: ro, mode: 0400}]
        - name: conf
          configMap: {name: conf}
"""


def pod_and_container(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "job.yaml"
    path.write_text(POD)
    job = load_manifest(path).job
    assert job is not None
    return job.pod, job.pod.containers[0]


def test_env_wins_over_env_from_and_addresses_are_mapped(tmp_path: Path) -> None:
    _, container = pod_and_container(tmp_path)
    sources = Sources({"s": {"TOKEN": "from-secret", "1BAD": "skipped"}}, {}, "harness.yaml")
    env = container_env(container, sources, AddressMap({"192.0.2.10": "172.18.0.9"}))
    assert env["HOST"] == "172.18.0.9"
    assert env["URL"] == "ssh://172.18.0.9/from-secret"  # expanded before TOKEN is overridden, as in Kubernetes
    assert env["TOKEN"] == "overridden"
    assert "1BAD" not in env


def test_a_missing_secret_says_where_to_add_a_test_value(tmp_path: Path) -> None:
    _, container = pod_and_container(tmp_path)
    with pytest.raises(HarnessError) as raised:
        container_env(container, Sources({}, {}, "deployers/x/harness.yaml"), AddressMap({}))
    assert "Secret 's'" in str(raised.value)
    assert "deployers/x/harness.yaml" in str(raised.value)
    assert "secrets: {s: {KEY: test-value}}" in str(raised.value)


def test_volume_files_get_kubernetes_modes_items_and_sub_paths(tmp_path: Path) -> None:
    pod, container = pod_and_container(tmp_path)
    sources = Sources({"k": {"id": "PRIVATE"}}, {"conf": {"app.conf": "x=1 host=192.0.2.10", "other": "y"}}, "h.yaml")
    addresses = AddressMap({"192.0.2.10": "172.18.0.9"})
    key = {e.path: e for e in volume_files(pod.volume("key"), sources, addresses)}
    assert (key["id_ed25519"].mode, key["id_ed25519"].content) == (0o600, b"PRIVATE")
    assert key["ro"].mode == 0o400
    # subPath: one file in the container's filesystem, and no entry for /etc or /etc/app
    (conf,) = sub_path_entries(pod, container, sources, addresses)
    assert (conf.path, conf.mode, conf.content) == ("/etc/app/app.conf", 0o644, b"x=1 host=172.18.0.9")
