"""`deployer-harness init NAME --manifest PATH` on the reference deployers' own manifests: a spec that loads (the
cross-checks pass), with what the manifest cannot tell named as left to fill in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.deployer.cross_checks import load_deployer
from harness.images.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]
KINDS = Catalog().names(hosts_only=True)


def initialised(tmp_path: Path, source: Path, manifest: str) -> tuple[Path, str]:
    folder = tmp_path / source.name
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("harness.yaml", "tests"))
    code = main(["init", source.name, "--manifest", str(folder / "k8s" / manifest), "--deployers-dir", str(tmp_path)])
    assert code == 0
    return folder, (folder / "harness.yaml").read_text()


def test_a_job_s_spec_names_its_host_its_key_its_secrets_and_its_drift_check(tmp_path: Path) -> None:
    folder, text = initialised(tmp_path, REPO / "deployers" / "pve-nut", "job.yaml")
    spec = yaml.safe_load(text)
    assert spec["machines"] == {"target-host": {"kind": "debian-12", "address": "192.0.2.10"}}
    assert spec["ssh_key"] == {"secret": "pve-nut-ssh-key", "key": "id_ed25519"}
    assert spec["drift"] == {"manifest": "k8s/drift-check.yaml"}
    assert "# to fill in: secrets.pve-nut-secrets: every key the pod takes from it" in text
    assert load_deployer(folder, KINDS).machines[0].address == "192.0.2.10"
    assert 'pytest.fail("no checks yet' in (folder / "tests" / "test_pve_nut.py").read_text()  # red until written


def test_a_download_becomes_a_world_url_to_fill_in(tmp_path: Path) -> None:
    folder, text = initialised(tmp_path, REPO / "deployers" / "pve-exporter", "job.yaml")
    urls = yaml.safe_load(text)["world"]["urls"]
    assert list(urls) == [
        "https://github.com/example-org/pve-exporter/releases/download/v1.4.0/pve-exporter-1.4.0.tar.gz"
    ]
    assert yaml.safe_load(text)["secrets"] == {"pve-exporter-secrets": {"PVE_EXPORTER_TOKEN": "CHANGE-ME"}}
    # the host keys it pins: a Secret the harness fills with the machine's own
    assert yaml.safe_load(text)["known_hosts"] == {"secret": "pve-exporter-known-hosts", "key": "known_hosts"}
    load_deployer(folder, KINDS)


@pytest.mark.parametrize("name", ["seed-nut", "node-configurator"])
def test_every_reference_deployer_gets_a_spec_that_loads(tmp_path: Path, name: str) -> None:
    manifest = "daemonset.yaml" if name == "node-configurator" else "job.yaml"
    folder, text = initialised(tmp_path, REPO / "deployers" / name, manifest)
    assert "# to fill in: " in text
    load_deployer(folder, KINDS)


def test_init_never_writes_over_a_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = initialised(tmp_path, REPO / "deployers" / "seed-nut", "job.yaml")
    again = main(["init", "seed-nut", "--manifest", str(folder / "k8s" / "job.yaml"), "--deployers-dir", str(tmp_path)])
    assert again == 2 and "exists: it is left as it is" in capsys.readouterr().err
