from pathlib import Path

import pytest

from harness.deployer.discovery import resolve
from harness.deployer.spec import load_spec
from harness.errors import HarnessError
from harness.state.derive import Derived
from harness.state.tracker import StateTracker

KINDS = ["debian-12", "pve-8"]
SPEC = """
manifest: k8s/job.yaml
machines:
  pve1: {kind: pve-8, hostname: pve1, address: 192.0.2.10, aliases: [pve1.example.org]}
ssh_key: {secret: ssh, key: id_ed25519}
secrets:
  env: {PASSWORD: pw, PORT: 3493, DEBUG: true}
verify: {host: pve1}
"""


def deployer(tmp_path: Path, spec: str = SPEC) -> Path:
    folder = tmp_path / "pve-nut"
    (folder / "k8s").mkdir(parents=True)
    (folder / "k8s" / "job.yaml").write_text("kind: Job\n")
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "harness.yaml").write_text(spec)
    return folder


def test_a_full_spec_is_read(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path), KINDS)
    assert spec.name == "pve-nut"
    assert spec.machines[0].address == "192.0.2.10"
    assert spec.machines[0].aliases == ("pve1.example.org",)
    assert spec.ssh_key is not None and spec.ssh_key.secret == "ssh"
    assert spec.secrets == {"env": {"PASSWORD": "pw", "PORT": "3493", "DEBUG": "true"}}
    assert spec.verify_host == "pve1"


def test_vms_become_their_configuration_files_keys_sorted_before_the_setup_files(tmp_path: Path) -> None:
    spec = SPEC.replace(", aliases:", ", vms: {108: {name: frigate, memory: 4096, onboot: true}, 200: {}}, aliases:")
    spec = spec.replace("address: 192.0.2.10,", "address: 192.0.2.10, setup: {files: {/etc/x: y}},")
    files = load_spec(deployer(tmp_path, spec), KINDS).machines[0].setup.files
    assert [(f.path, f.content, f.mode, f.owner) for f in files[:2]] == [
        ("/etc/pve/qemu-server/108.conf", "memory: 4096\nname: frigate\nonboot: 1\n", 0o640, "root:www-data"),
        ("/etc/pve/qemu-server/200.conf", "", 0o640, "root:www-data"),
    ]
    assert files[2].path == "/etc/x"


def test_build_args_are_read_as_text(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC + "build: {args: {BASE: bookworm, RETRIES: 3}}\n"), KINDS)
    assert spec.build_args == {"BASE": "bookworm", "RETRIES": "3"}
    assert load_spec(deployer(tmp_path / "plain"), KINDS).build_args == {}


def test_state_and_finding_policies_are_read(tmp_path: Path) -> None:
    text = SPEC + "state: {paths: [/etc/nut/], exclude: [/opt/x/log/*], units: [a.service], sysctl: [vm.swappiness]}\n"
    spec = load_spec(deployer(tmp_path, text + "idempotency: {restarted: fail}\n"), KINDS)
    assert (spec.state.paths, spec.state.exclude, spec.state.derive) == (("/etc/nut",), ("/opt/x/log/*",), True)
    assert (spec.state.units, spec.state.sysctl) == (("a.service",), ("vm.swappiness",))
    assert spec.findings == {"rewritten": "warn", "restarted": "fail", "reinstalled": "warn"}


def test_a_derived_unit_is_left_out_of_the_watch_by_pattern(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC + "state: {units: [a.service], exclude_units: ['b@*.service']}\n"), KINDS)
    tracker = StateTracker({"pve1": lambda script: (0, b"", b"")}, spec.state, lambda text: text)
    tracker.derived = {"pve1": Derived(("/etc/b",), ("b@ups.service", "c.service"))}
    assert tracker.watch("pve1").units == ("a.service", "c.service")
    assert tracker.watch("pve1").paths == ("/etc/b",)


def test_the_manifest_is_guessed_when_k8s_holds_one(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC.replace("manifest: k8s/job.yaml\n", "")), KINDS)
    assert spec.manifest.name == "job.yaml"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("kind: pve-8", "kind: pve-9"), "`machines.pve1.kind` is 'pve-9', which is not a machine kind"),
        (("kind: pve-8", "kind: pve-9"), "use one of: debian-12, pve-8"),
        (("address: 192.0.2.10", "address: pve1.lan"), "`machines.pve1.address` is 'pve1.lan', not an IP"),
        (("ssh_key:", "ssh_keys:"), "did you mean `ssh_key`?"),
        (("manifest: k8s/job.yaml", "manifest: k8s/absent.yaml"), "`manifest` names"),
        (("verify: {host: pve1}", "verify: {host: pve2}"), "`verify.host` names 'pve2'"),
        (("{kind: pve-8, ", "{"), "`machines.pve1.kind` is required"),
        (("env: {PASSWORD: pw,", "env: {PASSWORD: [pw],"), "`secrets.env.PASSWORD` must be a string value"),
        (("  pve1: {", "  Pve 1: {"), "`machines.Pve 1` is not a usable machine name"),
        (("hostname: pve1,", "hostname: 'pve 1',"), "`machines.pve1.hostname` is 'pve 1', not a host name"),
        (
            ("verify: {host: pve1}", "verify: {host: pve1}\nrunner: {backoff_seconds: -1}"),
            "`runner.backoff_seconds` must be 0 or more",
        ),
        (
            ("verify: {host: pve1}", "state: {paths: [etc/nut]}"),
            "`state.paths` holds 'etc/nut', which is not an absolute path",
        ),
        (("verify: {host: pve1}", "state: {units: nut-server}"), "`state.units` must be a list of strings"),
        (("verify: {host: pve1}", "state: {derive: maybe}"), "`state.derive` must be true or false"),
        (("verify: {host: pve1}", "state: {path: [/etc]}"), "did you mean `paths`?"),
        (("verify: {host: pve1}", "idempotency: {restarted: error}"), "`idempotency.restarted` is 'error'"),
        (("verify: {host: pve1}", "idempotency: {restarted: error}"), "use one of: warn, fail, ignore"),
        (("verify: {host: pve1}", "idempotency: {restart: fail}"), "did you mean `restarted`?"),
        ((", aliases:", ", vms: {99: {name: x}}, aliases:"), "`machines.pve1.vms.99` is not a VM ID"),
        ((", aliases:", ", vms: {108: {Name: x}}, aliases:"), "`machines.pve1.vms.108.Name` is not a VM configuration"),
        ((", aliases:", ", vms: {108: {args: [a]}}, aliases:"), "`machines.pve1.vms.108.args` is ['a']"),
        ((", aliases:", ", vms: {108: frigate}, aliases:"), "`machines.pve1.vms.108` must be a mapping"),
        (("kind: pve-8, hostname: pve1,", "kind: debian-12, vms: {108: {}},"), "give it `kind: pve-8`"),
    ],
)
def test_bad_specs_name_the_field_and_the_fix(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in SPEC
    with pytest.raises(HarnessError) as raised:
        load_spec(deployer(tmp_path, SPEC.replace(*change)), KINDS)
    assert expected in str(raised.value)
    assert "harness.yaml" in str(raised.value)


def test_missing_dockerfile_is_named(tmp_path: Path) -> None:
    folder = deployer(tmp_path)
    (folder / "Dockerfile").unlink()
    with pytest.raises(HarnessError, match="Dockerfile, which does not exist"):
        load_spec(folder, KINDS)


def test_malformed_spec_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"harness.yaml:\d+: not valid YAML"):
        load_spec(deployer(tmp_path, "machines: {pve1: [\n"), KINDS)


def test_unknown_deployer_lists_the_known_ones(tmp_path: Path) -> None:
    deployer(tmp_path)
    with pytest.raises(HarnessError) as raised:
        resolve(tmp_path, ["pve-nutt"])
    assert "no deployer named 'pve-nutt'" in str(raised.value)
    assert "use one of: pve-nut" in str(raised.value)


def test_a_folder_without_spec_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    deployer(tmp_path)
    with pytest.raises(HarnessError, match=r"harness\.yaml is missing"):
        resolve(tmp_path, ["half"])


def test_all_means_every_deployer(tmp_path: Path) -> None:
    deployer(tmp_path)
    assert [p.name for p in resolve(tmp_path, ["all"])] == ["pve-nut"]


def test_numeric_machine_names_are_read_as_text(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC.replace("  pve1: {", "  1: {").replace("host: pve1", "host: '1'")), KINDS)
    assert spec.machines[0].name == "1"


def test_a_spec_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    folder = deployer(tmp_path)
    (folder / "harness.yaml").write_bytes(b"machines: \xff\xfe\n")
    with pytest.raises(HarnessError, match="not UTF-8"):
        load_spec(folder, KINDS)


DRIFT = """
drift:
  manifest: k8s/drift-check.yaml
  container: check
  mutations:
    - {name: ups-on-battery, machine: pve1, run: "upsrw -s ups.status=OB", names: [ups.status]}
    - {name: wipe.conf, run: "truncate -s0 /etc/nut/ups.conf"}
  exclude: ["chown /opt/pve-nut/log", "* /root/.profile"]
rollback: {ref: v1.2.0, stamp: /opt/pve-nut/.version, allow: [/etc/cron.d/pve-nut-*]}
"""


def test_drift_and_rollback_sections_are_read(tmp_path: Path) -> None:
    folder = deployer(tmp_path, SPEC + DRIFT)
    (folder / "k8s" / "drift-check.yaml").write_text("kind: CronJob\n")
    spec = load_spec(folder, KINDS)
    assert spec.drift.manifest == folder / "k8s" / "drift-check.yaml"
    assert (spec.drift.container, spec.drift.command, spec.drift.has_check) == ("check", None, True)
    assert [(m.name, m.machine, m.run, m.names) for m in spec.drift.mutations] == [
        ("ups-on-battery", "pve1", "upsrw -s ups.status=OB", ("ups.status",)),
        ("wipe.conf", None, "truncate -s0 /etc/nut/ups.conf", ("wipe.conf",)),
    ]
    assert spec.drift.exclude == ("chown /opt/pve-nut/log", "* /root/.profile")
    assert (spec.rollback.ref, spec.rollback.image, spec.rollback.stamp) == ("v1.2.0", None, "/opt/pve-nut/.version")
    assert spec.rollback.allow == ("/etc/cron.d/pve-nut-*",)


def test_a_drift_command_runs_the_check_without_a_manifest(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC + "drift: {command: [/app/check-drift.sh, --quiet]}\n"), KINDS)
    assert (spec.drift.manifest, spec.drift.command) == (None, ("/app/check-drift.sh", "--quiet"))
    assert spec.drift.has_check


def test_without_drift_and_rollback_sections_there_is_no_check_and_no_stamp(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path), KINDS)
    assert not spec.drift.has_check
    assert (spec.drift.mutations, spec.drift.exclude) == ((), ())
    assert (spec.rollback.ref, spec.rollback.image, spec.rollback.stamp, spec.rollback.allow) == (None, None, None, ())


def test_a_rollback_image_is_read(tmp_path: Path) -> None:
    spec = load_spec(deployer(tmp_path, SPEC + "rollback: {image: 'registry.example.com/pve-nut:1.2.0'}\n"), KINDS)
    assert (spec.rollback.ref, spec.rollback.image) == (None, "registry.example.com/pve-nut:1.2.0")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "drift: {manifest: k8s/absent.yaml}",
            ["`drift.manifest` names", "k8s/absent.yaml, which does not exist", "fix: give the CronJob or Job"],
        ),
        (
            "drift: {manifest: k8s/job.yaml, command: [/app/check]}",
            ["`drift.command` and `manifest` are both given", "fix: run the check one way"],
        ),
        ("drift: {command: []}", ["`drift.command` is empty", "fix: write the command as a list"]),
        ("drift: {command: /app/check}", ["`drift.command` must be a list of strings"]),
        ("drift: {mutations: {name: x, run: 'true'}}", ["`drift.mutations` must be a list"]),
        (
            "drift: {mutations: [{name: x, machine: pve9, run: 'true'}]}",
            ["`drift.mutations[0].machine` names 'pve9', which is not a machine", "fix: use one of: pve1"],
        ),
        (
            "drift: {mutations: [{name: ok, run: 'true'}, {name: Bad_Name, run: 'true'}]}",
            ["`drift.mutations[1].name` is 'Bad_Name'", "fix: use lower-case letters, digits, dots and dashes"],
        ),
        ("drift: {mutations: [{run: 'true'}]}", ["`drift.mutations[0].name` is required"]),
        ("drift: {mutations: [{name: x}]}", ["`drift.mutations[0].run` is required", "fix: give the shell command"]),
        ("drift: {mutations: [{name: x, run: 'true', name_s: [y]}]}", ["`drift.mutations[0].name_s` unknown field"]),
        ("drift: {mutations: [{name: x, run: 'true', names: y}]}", ["`drift.mutations[0].names` must be a list"]),
        ("drift: {exclude: 'chmod /etc/*'}", ["`drift.exclude` must be a list of strings"]),
        ("drift: {manifests: k8s/job.yaml}", ["`drift.manifests` unknown field", "did you mean `manifest`?"]),
        (
            "rollback: {ref: v1.2.0, image: 'pve-nut:1.2.0'}",
            ["`rollback.image` and `ref` are both given", "fix: name the previous version one way"],
        ),
        ("rollback: {stamp: opt/pve-nut/.version}", ["`rollback.stamp` is 'opt/pve-nut/.version', not an absolute"]),
        ("rollback: {allow: /etc/cron.d/x}", ["`rollback.allow` must be a list of strings"]),
        ("drift: {heal: loop}", ["`drift.heal` is `loop`, and a Job deployer does not loop", "fix: a new apply"]),
        ("drift: {unnamed: warn}", ["`drift.unnamed` is for DaemonSets", "fix: a Job's drift check must name it"]),
    ],
)
def test_bad_drift_and_rollback_sections_name_the_field_and_the_fix(
    tmp_path: Path, section: str, expected: list[str]
) -> None:
    with pytest.raises(HarnessError) as raised:
        load_spec(deployer(tmp_path, SPEC + section + "\n"), KINDS)
    for text in expected:
        assert text in str(raised.value)
    assert "harness.yaml" in str(raised.value)
