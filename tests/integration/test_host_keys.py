"""Each machine's own SSH host keys: made when it starts, handed to a deployer that pins them as a known_hosts
Secret, and changed by a rotation, which a pinning deployer must refuse."""

from __future__ import annotations

from harness.deployment import Deployment
from harness.workbench import Workbench


def served_key(deployment: Deployment, machine: str) -> str:
    """The ed25519 host key sshd serves at the machine's address, as a client sees it (ssh-keyscan from another)."""
    other = next(m for name, m in deployment.testbed.machines.items() if name != machine)
    address = deployment.testbed.machines[machine].address
    code, output = other.exec(f"ssh-keyscan -t ed25519 {address} 2>/dev/null")
    assert code == 0 and output.strip(), output
    return " ".join(output.split()[1:3])


def test_each_machine_has_its_own_keys_and_a_pinning_deployer_passes_until_one_changes(  # type: ignore[no-untyped-def]
    bench: Workbench, test_spec
) -> None:
    with Deployment(bench, test_spec("pinned")) as deployment:
        web1, web2 = deployment.testbed.machines["web1"], deployment.testbed.machines["web2"]
        assert web1.host_keys.public != web2.host_keys.public
        assert served_key(deployment, "web1") == web1.host_keys.public["ed25519"]
        assert served_key(deployment, "web2") == web2.host_keys.public["ed25519"]
        known = deployment.testbed.known_hosts(deployment.spec.machines)
        assert f"198.51.100.22,web2.example.org,web2 {web2.host_keys.public['rsa']}" in known

        first = deployment.apply()
        assert first.succeeded, first.describe()
        assert "deployed to web2.example.org" in first.logs

        web2.rotate_host_keys()  # reinstalled: the Secret still pins the old key
        assert served_key(deployment, "web2") != web2.host_keys.public["ed25519"]
        refused = deployment.apply()
    assert not refused.succeeded, refused.describe()
    assert f"deployed to {web1.address}" in refused.logs  # the address the manifest names, mapped
    assert "Host key verification failed" in refused.logs
    assert "deployed to web2.example.org" not in refused.logs
