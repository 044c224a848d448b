"""The world on a real test network: a debian-12 machine resolves every name to the world's server, trusts the
run's CA, and gets each response kind the spec can give; anything unmapped is refused with the fix and counted;
an outage lays other answers over the mapped ones until it ends."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_runs import REPO, TEST_DEPLOYERS, Suite, leftovers, run, run_suite

from harness.deployer.spec import MachineSpec
from harness.deployment import Deployment
from harness.hosts.machine import Machine
from harness.k8s.pod import EnvVar
from harness.testbed import Testbed
from harness.workbench import Workbench
from harness.workloads.sim import SimDaemonSet
from harness.world.server import url_key
from harness.world.spec import Response, WorldSpec

HOST = "github.com"
RELEASE = f"https://{HOST}/example-org/tool/releases/download/v1.0/tool.tar.gz"
BODY = b"\x1f\x8b release bytes " * 100


@pytest.fixture(scope="module")
def world_bed(bench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Testbed]:
    release = tmp_path_factory.mktemp("world") / "tool.tar.gz"
    release.write_bytes(BODY)
    urls = {
        RELEASE: Response(file=release),
        "http://plain.example.com/install.sh": Response(text="#!/bin/sh\necho hi\n"),
        "https://downloads.example.com/blob.bin": Response(size=5000),
        "https://mirror.example.com/gone.tar.gz": Response(status=404),
        "https://cut.example.com/tool.tar.gz": Response(file=release, cut_after=100),
        "https://slow.example.com/a": Response(text="late", delay=2),
        "https://dead.example.com/a": Response(hang=True),
        "https://moved.example.com/latest": Response(status=302, headers=(("Location", RELEASE),)),
        "http://api.example.com:8080/v1/ping": Response(text="pong"),
    }
    world = WorldSpec({url_key(url): response for url, response in urls.items()})
    with Testbed(bench, "world") as started:
        started.start([MachineSpec("box", "debian-12", "box")], world=world)
        yield started


def curl(machine: Machine, *args: str) -> tuple[int, str]:
    return machine.exec("curl -sS --max-time 5 " + " ".join(args) + " 2>&1")


def test_every_name_resolves_to_the_world_and_the_network_s_own_names_to_themselves(world_bed: Testbed) -> None:
    box, world = world_bed.machines["box"], world_bed.world
    assert world is not None
    code, out = box.exec("getent ahostsv4 anything.example.org | head -1")
    assert code == 0 and out.split()[0] == world.address
    code, out = box.exec("getent hosts box")
    assert out.split()[0] == box.address


def test_a_release_download_is_served_over_https_that_the_machine_trusts(world_bed: Testbed) -> None:
    box = world_bed.machines["box"]
    code, out = box.exec(f"curl -fsS --max-time 5 -o /tmp/release {RELEASE} && sha256sum /tmp/release")
    assert code == 0 and out.split()[0] == hashlib.sha256(BODY).hexdigest()
    assert curl(box, "-fL -o /dev/null -w '%{http_code}'", "https://moved.example.com/latest") == (0, "200")
    # OpenSSL's own lookup (by hash in /etc/ssl/certs, as Python's ssl does) trusts it too, not only curl's bundle.
    code, out = box.exec(
        f"openssl s_client -connect {HOST}:443 -servername {HOST} -verify_return_error </dev/null 2>&1"
    )
    assert code == 0 and "Verify return code: 0 (ok)" in out, out


def test_each_response_kind_is_what_the_spec_says(world_bed: Testbed) -> None:
    box = world_bed.machines["box"]
    assert curl(box, "http://plain.example.com/install.sh") == (0, "#!/bin/sh\necho hi\n")
    assert curl(box, "-o /dev/null -w '%{size_download}'", "https://downloads.example.com/blob.bin") == (0, "5000")
    code, out = curl(box, "-f", "https://mirror.example.com/gone.tar.gz")
    assert code == 22 and "404" in out
    code, out = curl(box, "-o /dev/null", "https://cut.example.com/tool.tar.gz")
    assert code == 18, out  # a partial file: fewer bytes came than the length said
    assert curl(box, "https://slow.example.com/a") == (0, "late")
    code, _ = box.exec("curl -sS --max-time 1 https://slow.example.com/a")
    assert code == 28  # the delay is real: a client that waits less times out
    code, _ = box.exec("curl -sS --max-time 2 https://dead.example.com/a")
    assert code == 28
    assert curl(box, "http://api.example.com:8080/v1/ping?check=1") == (0, "pong")  # every query of a mapping


def test_an_unmapped_url_is_refused_with_the_fix_and_counted(world_bed: Testbed) -> None:
    box, world = world_bed.machines["box"], world_bed.world
    assert world is not None
    code, out = curl(box, "-i", "https://get.example.org/install.sh")
    assert code == 0
    assert out.startswith("HTTP/1.1 502") and "X-Deployer-Harness: unmapped" in out
    assert "nothing is mapped at https://get.example.org/install.sh" in out and "world.urls" in out
    refused = [e for e in world.events() if e.kind == "http" and not e.mapped]
    assert [e.url for e in refused] == ["https://get.example.org/install.sh"]
    assert refused[0].client == box.address


def test_an_outage_answers_otherwise_until_it_ends(world_bed: Testbed) -> None:
    box, world = world_bed.machines["box"], world_bed.world
    assert world is not None
    plain = "http://plain.example.com/install.sh"
    world.outage({url_key(RELEASE): Response(status=503)})
    try:
        code, out = curl(box, "-f -o /dev/null", RELEASE)
        assert code == 22 and "503" in out
        assert curl(box, plain)[0] == 0  # the others as mapped
        world.outage({url_key(plain): Response(file=Path(__file__), cut_after=10)})  # outages stack
        try:
            assert curl(box, "-o /dev/null", plain)[0] == 18  # the new one's file, cut off
            assert curl(box, "-f -o /dev/null", RELEASE)[0] == 22  # the first one still holds
        finally:
            world.end_outage()
        assert curl(box, plain) == (0, "#!/bin/sh\necho hi\n")
        assert curl(box, "-f -o /dev/null", RELEASE)[0] == 22
    finally:
        world.end_outage()
    assert curl(box, "-f -o /dev/null", RELEASE)[0] == 0
    served = [e for e in world.events() if e.kind == "http" and e.url == url_key(RELEASE)]
    assert [e.outage for e in served][-4:] == [True, True, True, False]


def test_a_client_that_does_not_trust_the_ca_is_logged(world_bed: Testbed) -> None:
    box, world = world_bed.machines["box"], world_bed.world
    assert world is not None
    other_ca = (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other -days 1"
        " -keyout /tmp/other.key -out /tmp/other.pem 2>/dev/null"
    )
    code, out = box.exec(
        f"{other_ca} && openssl s_client -connect untrusted.example.com:443 -servername untrusted.example.com"
        " -CAfile /tmp/other.pem -no-CApath -verify_return_error </dev/null 2>&1"
    )
    assert code != 0, out
    refused = [e for e in world.events() if e.kind == "tls-refused"]
    assert any(e.name == "untrusted.example.com" for e in refused)


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    """The shipped world-outage scenario on world-fetch and, made wrong on purpose, world-liar (`curl -sL > file`:
    the error page saved as the tool, exit 0); world-unmapped also downloads a URL nobody mapped."""
    root = tmp_path_factory.mktemp("world") / "deployers"
    variants = {
        "world-fetch": {},
        "world-liar": {'{name: CAREFUL, value: "1"}': '{name: CAREFUL, value: "0"}'},
        "world-unmapped": {'{name: EXTRA_URL, value: ""}': f'{{name: EXTRA_URL, value: "{UNMAPPED}"}}'},
    }
    for name, changes in variants.items():
        shutil.copytree(TEST_DEPLOYERS / "world-fetch", root / name)
        job = root / name / "k8s" / "job.yaml"
        text = job.read_text()
        for old, new in changes.items():
            assert old in text
            text = text.replace(old, new)
        job.write_text(text)
    return run_suite(root / "outage.xml", "world-outage", list(variants), "--deployers-dir", str(root))


UNMAPPED = "https://get.example.org/install.sh"


def test_a_deployer_downloads_from_the_world_on_its_pod_and_on_its_host(outage: Suite) -> None:
    case = outage.cases["world-fetch"]
    assert case["outcome"] == ["passed"], outage.output
    assert case["world1"] == ["2 requests"]  # the config from the pod, the release from the host
    assert "apply 2 failed, and said so" in case["apply_failed"][0]
    assert case["world2"] == ["1 request; 1 in an outage"]  # the pod's `curl -f` stopped it at the first


def test_a_deployer_that_saves_an_error_page_as_the_release_fails_the_outage(outage: Suite) -> None:
    case = outage.cases["world-liar"]
    assert case["outcome"] == ["failed"]
    assert "world-liar / world-outage: apply 2 reported success while a fault struck" in outage.output
    assert "/usr/local/bin/tool" in outage.output and "/etc/tool.conf" in outage.output


def test_an_unmapped_download_is_counted_in_the_report(outage: Suite) -> None:
    case = outage.cases["world-unmapped"]
    assert case["outcome"] == ["passed"], outage.output
    assert case["world1"] == [f"3 requests; 1 refused, unmapped: {UNMAPPED}"]


def test_the_world_leaves_nothing_behind(outage: Suite) -> None:
    assert leftovers(outage.run) == []


def test_a_daemonset_s_pods_and_nodes_reach_the_world(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    """A node configurator's pod (host network, as they run) downloads over HTTPS with its image's tools and with
    the node's (chroot /host): both trust the run's CA."""
    url = "https://releases.example.com/agent/v2/agent.conf"
    world = WorldSpec({url: Response(text="agent-config-v2")})
    spec = dataclasses.replace(test_spec("ds-probe"), world=world)
    with Deployment(bench, spec) as deployment:
        workload = deployment.workload
        ds = deployment.manifest.daemonset
        assert isinstance(workload, SimDaemonSet) and ds is not None
        container = ds.pod.containers[0]
        container = dataclasses.replace(container, env=(*container.env, EnvVar("FETCH_URL", url)))
        pod = dataclasses.replace(ds.pod, host_network=True, host_pid=True, containers=(container,))
        rollout = workload.cluster.apply(
            dataclasses.replace(ds, pod=pod), deployment.current.image, workload.sources(deployment.manifest)
        )
        assert rollout.succeeded, rollout.describe()
        log = workload.cluster.logs("n1")
        assert "pod-fetch: agent-config-v2" in log, log
        assert "node-fetch: agent-config-v2" in log, log
        assert deployment.testbed.world is not None
        clients = {e.client for e in deployment.testbed.world.events() if e.kind == "http" and e.url == url}
        assert deployment.testbed.machines["n1"].address in clients


def test_the_reference_deployer_that_downloads_its_release_passes_the_gate() -> None:
    """deployers/pve-exporter: the host downloads a GitHub release, served by the world; in an outage the Job fails
    and the installed release stays."""
    code, output = run(
        "--deployers-dir", str(REPO / "deployers"), "--deployer", "pve-exporter", "-m", "not rollback", "-rs"
    )
    assert code == 0, output
    # lint, converge, idempotency, sshd-down, world-outage; skipped: gitops and gitops-update, drift, crash points,
    # host-down (one machine)
    assert "5 passed, 5 skipped" in output, output
    assert "world1: 1 request," in output and "apply 2 failed, and said so" in output
