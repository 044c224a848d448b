"""The bad-input catalogue: every way a deployer's spec or manifest is commonly written wrong, each refused before
anything starts with one clear line (the file, the field) and a fix; never an exception from deep inside.

Each case changes one thing in a deployer that loads cleanly (the first test proves it does). The plugin turns
these errors into pytest's usage error; tests/integration/test_plugin.py checks that path end to end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.deployer.cross_checks import load_deployer
from harness.errors import HarnessError

KINDS = ["debian-12", "pve-8"]
MACHINES = "machines:\n  pve1: {kind: pve-8, hostname: pve1, address: 192.0.2.10, aliases: [pve1.example.org]}\n"
SPEC = (
    "manifest: k8s/job.yaml\n"
    + MACHINES
    + """\
verify: {host: pve1}
ssh_key: {secret: deploy-ssh, key: id_ed25519}
secrets:
  deploy-env: {API_TOKEN: token-for-tests}
config_maps:
  nut-config: {MODE: netserver}
runner: {backoff_seconds: 1}
state: {paths: [/etc/nut]}
idempotency: {restarted: warn}
"""
)
JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: pve-nut-deploy, namespace: infra}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: deploy
          image: registry.example.com/pve-nut:1.0
          command: [/app/deploy.sh]
          env:
            - {name: TARGET_HOST, value: "192.0.2.10"}
            - name: API_TOKEN
              valueFrom: {secretKeyRef: {name: deploy-env, key: API_TOKEN}}
          envFrom:
            - configMapRef: {name: nut-config}
          volumeMounts:
            - {name: ssh, mountPath: /etc/ssh-key, readOnly: true}
      volumes:
        - name: ssh
          secret: {secretName: deploy-ssh, defaultMode: 0400}
"""
CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: drift-check}
spec:
  schedule: "*/15 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: check, image: registry.example.com/pve-nut:1.0}]
"""


def deployer(root: Path, spec: str = SPEC, job: str = JOB, name: str = "pve-nut") -> Path:
    folder = root / name
    (folder / "k8s").mkdir(parents=True)
    (folder / "k8s" / "job.yaml").write_text(job)
    (folder / "k8s" / "drift-check.yaml").write_text(CRONJOB)
    (folder / "Dockerfile").write_text("FROM deployer-harness/deployer-base\n")
    (folder / "harness.yaml").write_text(spec)
    return folder


def test_the_catalogue_starts_from_a_deployer_that_loads(tmp_path: Path) -> None:
    spec = load_deployer(deployer(tmp_path), KINDS)
    assert [m.address for m in spec.machines] == ["192.0.2.10"]


# (what is wrong, file changed, (old, new) text, what the error must say). The file named in the error is the one
# the user edits to fix it: the spec for test values, the manifest for what Kubernetes itself would refuse.
S, M = "harness.yaml", "job.yaml"
CASES: list[tuple[str, str, tuple[str, str], str, str]] = [
    # --- the spec's own fields
    ("unknown machine kind", S, ("kind: pve-8", "kind: pve-9"), S, "`machines.pve1.kind` is 'pve-9'"),
    ("machine kind missing", S, ("{kind: pve-8, ", "{"), S, "`machines.pve1.kind` is required"),
    ("address not an IP", S, ("address: 192.0.2.10,", "address: pve1.lan,"), S, "`machines.pve1.address` is"),
    ("misspelt top field", S, ("ssh_key:", "ssh_keys:"), S, "did you mean `ssh_key`?"),
    ("misspelt machine field", S, ("hostname: pve1,", "hostnme: pve1,"), S, "did you mean `hostname`?"),
    ("manifest file missing", S, ("manifest: k8s/job.yaml", "manifest: k8s/absent.yaml"), S, "`manifest` names"),
    ("verify host unknown", S, ("verify: {host: pve1}", "verify: {host: pve2}"), S, "`verify.host` names 'pve2'"),
    ("secret value a list", S, ("{API_TOKEN: token-for-tests}", "{API_TOKEN: [a]}"), S, "`secrets.deploy-env.API"),
    ("machine name with space", S, ("  pve1: {", "  Pve 1: {"), S, "`machines.Pve 1` is not a usable"),
    ("hostname with space", S, ("hostname: pve1,", "hostname: 'pve 1',"), S, "`machines.pve1.hostname` is"),
    ("negative backoff", S, ("backoff_seconds: 1", "backoff_seconds: -1"), S, "`runner.backoff_seconds` must be"),
    ("backoff not a number", S, ("backoff_seconds: 1", "backoff_seconds: soon"), S, "`runner.backoff_seconds`"),
    ("deadline of zero", S, ("backoff_seconds: 1", "deadline_seconds: 0"), S, "`runner.deadline_seconds` must"),
    ("relative state path", S, ("paths: [/etc/nut]", "paths: [etc/nut]"), S, "`state.paths` holds 'etc/nut'"),
    ("state units not a list", S, ("paths: [/etc/nut]", "units: nut-server"), S, "`state.units` must be a list"),
    ("state derive not a flag", S, ("paths: [/etc/nut]", "derive: maybe"), S, "`state.derive` must be true or"),
    ("misspelt state field", S, ("paths: [/etc/nut]", "path: [/etc]"), S, "did you mean `paths`?"),
    ("unknown finding policy", S, ("restarted: warn", "restarted: error"), S, "`idempotency.restarted` is"),
    ("misspelt finding kind", S, ("restarted: warn", "restart: fail"), S, "did you mean `restarted`?"),
    (
        "empty machines",
        S,
        (MACHINES, "machines: {}\n"),
        S,
        "`machines` is",
    ),
    ("machines not a mapping", S, ("machines:\n", "machines: [pve1]\n#"), S, "`machines` must be a mapping"),
    ("two machines one address", S, ("verify:", "  pve2: {kind: pve-8, address: 192.0.2.10}\nverify:"), S, "is also"),
    (
        "aliases not a list",
        S,
        ("aliases: [pve1.example.org]", "aliases: pve1.example.org"),
        S,
        "`machines.pve1.aliases`",
    ),
    (
        "ssh key without key",
        S,
        ("{secret: deploy-ssh, key: id_ed25519}", "{secret: deploy-ssh}"),
        S,
        "`ssh_key.key` is required",
    ),
    ("machines and cluster", S, ("verify:", "cluster: {nodes: {w1: {}}}\nverify:"), S, "`machines` and `cluster`"),
    ("cluster without nodes", S, ("machines:\n", "cluster: {nodes: {}}\nmachines:\n"), S, "`cluster.nodes` is empty"),
    ("bad taint", S, (MACHINES, "cluster: {nodes: {w1: {taints: [gpu]}}}\n"), S, "`cluster.nodes.w1.taints`"),
    (
        "drift manifest missing",
        S,
        ("verify:", "drift: {manifest: k8s/none.yaml}\nverify:"),
        S,
        "`drift.manifest` names",
    ),
    ("drift command empty", S, ("verify:", "drift: {command: []}\nverify:"), S, "`drift.command` is empty"),
    ("rollback ref and image", S, ("verify:", "rollback: {ref: v1, image: x:1}\nverify:"), S, "`rollback"),
    (
        "duplicate key in spec",
        S,
        ("runner: {backoff_seconds: 1}", "runner: {backoff_seconds: 1}\nverify: {}"),
        S,
        "`verify` is given twice",
    ),
    ("duplicate machine", S, ("verify:", "  pve1: {kind: debian-12}\nverify:"), S, "`pve1` is given twice"),
    ("number and text key", S, ("  pve1: {kind", "  1: {kind: pve-8}\n  '1': {kind"), S, "`machines.1` is given twice"),
    ("spec not YAML", S, ("verify: {host: pve1}", "verify: {host: [pve1}"), S, "not valid YAML"),
    ("two documents", S, ("verify:", "---\nverify:"), S, "exactly one YAML document"),
    ("empty spec", S, (SPEC, "# nothing yet\n"), S, "is empty"),
    ("spec a list", S, (SPEC, "- pve1\n"), S, "`(top level)` must be a mapping"),
    # --- a machine's setup
    *[
        (case, S, ("aliases: [pve1.example.org]}", f"aliases: [pve1.example.org], setup: {setup}}}"), S, says)
        for case, setup, says in [
            ("setup directory relative", "{directories: [opt/x]}", "`machines.pve1.setup.directories` holds 'opt/x'"),
            ("setup file relative", "{files: {etc/x: y}}", "`machines.pve1.setup.files.etc/x` is not an absolute"),
            ("setup file mode", "{files: {/etc/x: {content: y, mode: 755x}}}", ".mode` is '755x'"),
            ("setup file mode unquoted", "{files: {/etc/x: {content: y, mode: 0644}}}", ".mode` is 420, a number"),
            ("setup file owner", "{files: {/etc/x: {content: y, owner: 'Root Admin'}}}", ".owner` is 'Root Admin'"),
            ("setup file no content", "{files: {/etc/x: {mode: '0600'}}}", ".content` is required"),
            ("setup packages without mirror", "{packages: [jq]}", "`mirror` is off, and a machine's `setup.packages`"),
            ("setup real bad name", "{real: ['rm -rf']}", "`machines.pve1.setup.real` holds 'rm -rf'"),
            ("setup unknown field", "{command: [x]}", "did you mean `commands`?"),
        ]
    ],
    # --- the world
    *[
        (case, S, ("idempotency: {restarted: warn}\n", f"idempotency: {{restarted: warn}}\nworld: {world}\n"), S, says)
        for case, world, says in [
            (
                "world URL without scheme",
                "{urls: {example.com/a: {text: x}}}",
                "`world.urls.example.com/a` is not a URL",
            ),
            ("world URL ftp", "{urls: {'ftp://example.com/a': {text: x}}}", "`world.urls.ftp://example.com/a` is not"),
            ("world URL an address", "{urls: {'https://203.0.113.5/a': {text: x}}}", "names an address, not a host"),
            ("world URL twice", "{urls: {'https://A.example/x': {}, 'https://a.example/x': {}}}", "a second time"),
            ("world status", "{urls: {'https://a.example/x': {status: 700}}}", ".status` is 700"),
            ("world two bodies", "{urls: {'https://a.example/x': {text: x, size: 3}}}", ".size` is given with `text`"),
            ("world file missing", "{urls: {'https://a.example/x': {file: files/absent}}}", "there is no such file"),
            ("world negative cut", "{urls: {'https://a.example/x': {cut_after: -1}}}", ".cut_after` is -1"),
            ("world response not a map", "{urls: {'https://a.example/x': 404}}", "must be a response"),
            ("world unknown field", "{url: {}}", "did you mean `urls`?"),
            (
                "world port two schemes",
                "{urls: {'http://a.example:8443/': {}, 'https://b.example:8443/': {}}}",
                "which is http's here",
            ),
            ("world http on 443", "{urls: {'http://a.example:443/': {}}}", "serves port 443 with http"),
            ("world header length", "{urls: {'https://a.example/': {headers: {Content-Length: '3'}}}}", "server's"),
        ]
    ],
    # --- the spec against the manifest
    ("address the manifest never names", S, ("address: 192.0.2.10,", "address: 192.0.2.11,"), S, "never names"),
    (
        "ssh key Secret not mounted",
        S,
        ("{secret: deploy-ssh,", "{secret: ssh-key,"),
        S,
        "`ssh_key.secret` is 'ssh-key'",
    ),
    (
        "ssh key Secret's key not taken",
        M,
        ("defaultMode: 0400}", "items: [{key: id_rsa, path: id_rsa}]}"),
        S,
        "`ssh_key.key`",
    ),
    ("Secret value missing", S, ("  deploy-env: {API_TOKEN: token-for-tests}\n", ""), S, "Secret 'deploy-env'"),
    ("Secret key missing", S, ("{API_TOKEN: token-for-tests}", "{TOKEN: token-for-tests}"), S, "needs key 'API_TOKEN'"),
    ("ConfigMap missing", S, ("  nut-config: {MODE: netserver}\n", ""), S, "ConfigMap 'nut-config'"),
    (
        "spec for a DaemonSet, manifest a Job",
        S,
        (MACHINES + "verify: {host: pve1}\n", "cluster: {nodes: {w1: {}}}\n"),
        S,
        "`cluster` is given, but the manifest runs a Job",
    ),
    # --- the manifest, as Kubernetes would refuse it
    (
        "duplicate key in manifest",
        M,
        ("      restartPolicy: Never\n", "      restartPolicy: Never\n      restartPolicy: OnFailure\n"),
        M,
        "`restartPolicy` is given twice",
    ),
    (
        "Job restartPolicy Always",
        M,
        ("restartPolicy: Never", "restartPolicy: Always"),
        M,
        "spec.restartPolicy` is 'Always'",
    ),
    ("Job apiVersion wrong", M, ("apiVersion: batch/v1", "apiVersion: v1"), M, "`(document 1).apiVersion` is 'v1'"),
    ("kind missing", M, ("kind: Job\n", ""), M, "`(document 1).kind` is required"),
    (
        "Job name upper case",
        M,
        ("name: pve-nut-deploy,", "name: PVE_Nut,"),
        M,
        "`(document 1).metadata.name` is 'PVE_Nut'",
    ),
    ("Job name too long", M, ("name: pve-nut-deploy,", f"name: {'a' * 64},"), M, "which Kubernetes refuses for a Job"),
    ("negative backoffLimit", M, ("backoffLimit: 2", "backoffLimit: -1"), M, "`(document 1).spec.backoffLimit`"),
    ("deadline a string", M, ("backoffLimit: 2", "activeDeadlineSeconds: '60'"), M, "activeDeadlineSeconds` must be"),
    (
        "no containers",
        M,
        (JOB[JOB.index("      containers:") : JOB.index("      volumes:")], "      containers: []\n"),
        M,
        "containers",
    ),
    ("manifest not YAML", M, ("backoffLimit: 2", "backoffLimit: [2"), M, "not valid YAML"),
    (
        "Secret data not base64",
        M,
        (JOB, JOB + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {K: '%%'}\n"),
        M,
        "is not base64 text",
    ),
    ("two Jobs", M, (JOB, JOB + "---\n" + JOB), M, "more than one Job"),
    (
        "manifest without a workload",
        M,
        (JOB, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"),
        S,
        "holds no Job and no DaemonSet",
    ),
    (
        "httpGet probe",
        M,
        ("          command: [/app/deploy.sh]\n", "          readinessProbe: {httpGet: {path: /, port: 80}}\n"),
        M,
        "httpGet",
    ),
    ("volume mount of no volume", M, ("{name: ssh, mountPath", "{name: sshh, mountPath"), M, "sshh"),
]


# What is wrong here is the file as a whole: the file is the field.
WHOLE_FILE = {"two documents", "empty spec", "two Jobs", "manifest without a workload"}


@pytest.mark.parametrize(("case", "edited", "change", "named", "says"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line_with_the_file_the_field_and_the_fix(
    tmp_path: Path, case: str, edited: str, change: tuple[str, str], named: str, says: str
) -> None:
    spec, job = (SPEC.replace(*change), JOB) if edited == S else (SPEC, JOB.replace(*change))
    assert change[0] in (SPEC if edited == S else JOB), "the case no longer changes anything"
    folder = deployer(tmp_path, spec, job)
    with pytest.raises(HarnessError) as raised:
        load_deployer(folder, KINDS)
    text = str(raised.value)
    first, *rest = text.splitlines()
    assert says in text, text
    assert named in first.split(": ", 1)[0], f"the file is not named first: {first}"
    if case not in WHOLE_FILE:
        assert "`" in first or re.search(r"\.yaml:\d+: ", first), f"no field or line named: {first}"
    assert "Traceback" not in text
    assert any(line.startswith("  fix: ") and len(line) > 12 for line in rest), f"no fix: {raised.value}"


def test_the_catalogue_holds_fifty_cases_or_more() -> None:
    assert len(CASES) + len(FOLDER_NAMES) >= 50


FOLDER_NAMES = ["PVE-Nut", "pve_nut_", "-nut", "pve nut", "nut..x"]


@pytest.mark.parametrize("name", FOLDER_NAMES)
def test_a_folder_name_no_image_can_have_is_refused_with_the_rule(tmp_path: Path, name: str) -> None:
    with pytest.raises(HarnessError) as raised:
        load_deployer(deployer(tmp_path, name=name), KINDS)
    assert f"the deployer's folder name {name!r} cannot name its image" in str(raised.value)
    assert "fix: rename the folder: lower-case letters and digits" in str(raised.value)


@pytest.mark.parametrize("name", ["pve-nut", "pve.nut", "nut_2", "a--b", "x"])
def test_folder_names_docker_takes_are_accepted(tmp_path: Path, name: str) -> None:
    assert load_deployer(deployer(tmp_path, name=name), KINDS).name == name
