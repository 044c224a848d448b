"""Secrets and ConfigMaps as the cluster would hold them for a deployer's pods."""

from __future__ import annotations

from harness.deployer.spec import DeployerSpec
from harness.k8s.manifest import Manifest
from harness.k8s.pod_env import Sources


def sources(spec: DeployerSpec, manifest: Manifest, ssh_key: str | None, namespace: str) -> Sources:
    """The manifest's, the spec's test values over them, the run's SSH key in the Secret the spec names."""
    secrets = {**manifest.secrets, **spec.secrets}
    if spec.ssh_key is not None and ssh_key is not None:
        entry = spec.ssh_key
        secrets[entry.secret] = {**secrets.get(entry.secret, {}), entry.key: ssh_key}
    config_maps = {**manifest.config_maps, **spec.config_maps}
    return Sources(secrets, config_maps, str(spec.path), {"metadata.namespace": namespace})
