"""Secrets and ConfigMaps as the cluster would hold them for a deployer's pods."""

from __future__ import annotations

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import Manifest
from harness.k8s.pod_env import Sources


def sources(
    spec: DeployerSpec, manifest: Manifest, ssh_key: str | None, namespace: str, known_hosts: str | None = None
) -> Sources:
    """The manifest's, the spec's test values over them, the run's SSH key and the machines' host keys (a
    known_hosts file) in the Secrets the spec names."""
    secrets = {**manifest.secrets, **spec.secrets}
    for entry, value in ((spec.ssh_key, ssh_key), (spec.known_hosts, known_hosts)):
        if entry is not None and value is not None:
            secrets[entry.secret] = {**secrets.get(entry.secret, {}), entry.key: value}
    config_maps = {**manifest.config_maps, **spec.config_maps}
    return Sources(secrets, config_maps, str(spec.path), {"metadata.namespace": namespace})
