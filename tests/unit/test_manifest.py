from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.k8s.manifest import load_manifest

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: nut-deploy, namespace: infra}
spec:
  backoffLimit: 2
  activeDeadlineSeconds: 300
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: deploy
          image: registry.example.com/pve-nut:1.0
          command: [/app/deploy.sh]
          args: ["--target", "$(TARGET_HOST)"]
          env:
            - {name: TARGET_HOST, value: "192.0.2.10"}
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: nut, key: password}}
          envFrom:
            - secretRef: {name: nut-env}
            - configMapRef: {name: nut-config}
              prefix: CFG_
          volumeMounts:
            - {name: key, mountPath: /ssh, readOnly: true}
            - {name: scratch, mountPath: /work}
      volumes:
        - name: key
          secret:
            secretName: ssh-key
            defaultMode: 0600
            items: [{key: id_ed25519, path: id_ed25519}]
        - name: scratch
          emptyDir: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: nut-config}
data: {mode: netserver}
---
apiVersion: v1
kind: Secret
metadata: {name: nut-env}
data: {TOKEN: c2VjcmV0}
stringData: {OTHER: plain}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_job_fields_are_read_as_kubernetes_defines_them(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, JOB))
    job = manifest.job
    assert job is not None
    assert (job.name, job.namespace, job.backoff_limit, job.active_deadline_seconds) == ("nut-deploy", "infra", 2, 300)
    container = job.pod.containers[0]
    assert container.command == ("/app/deploy.sh",)
    assert container.args == ("--target", "$(TARGET_HOST)")
    assert [e.name for e in container.env] == ["TARGET_HOST", "PASSWORD"]
    assert container.env[1].ref is not None and container.env[1].ref.key == "password"
    assert [(f.kind, f.name, f.prefix) for f in container.env_from] == [
        ("secret", "nut-env", ""),
        ("configMap", "nut-config", "CFG_"),
    ]
    key = job.pod.volume("key")
    assert key.default_mode == 0o600  # YAML 0600 is octal, as in kubectl
    assert key.items[0].path == "id_ed25519"
    assert job.pod.volume("scratch").kind == "emptyDir"


def test_secrets_and_config_maps_beside_the_job_are_decoded(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, JOB))
    assert manifest.secrets == {"nut-env": {"TOKEN": "secret", "OTHER": "plain"}}
    assert manifest.config_maps == {"nut-config": {"mode": "netserver"}}


def test_backoff_limit_defaults_to_six(tmp_path: Path) -> None:
    text = JOB.replace("  backoffLimit: 2\n", "")
    job = load_manifest(write(tmp_path, text)).job
    assert job is not None and job.backoff_limit == 6


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("restartPolicy: OnFailure", "restartPolicy: Always"), "restartPolicy` is 'Always'"),
        (("activeDeadlineSeconds: 300", "activeDeadlineSeconds: soon"), "activeDeadlineSeconds` must be a positive"),
        (("defaultMode: 0600", "defaultMode: 4096"), "defaultMode` must be a file mode"),
        (("- {name: key, mountPath", "- {name: nokey, mountPath"), "mounts volume 'nokey'"),
        (("apiVersion: batch/v1", "apiVersion: batch/v2"), "Jobs are `batch/v1`"),
        (("data: {TOKEN: c2VjcmV0}", "data: {TOKEN: not-base64!}"), "is not base64 text"),
        (("backoffLimit: 2", "backoffLimit: -1"), "spec.backoffLimit` must be a whole number"),
        (
            ("        - name: deploy\n          image: registry.example.com/pve-nut:1.0\n", "        - name: deploy\n"),
            "containers[0].image` is required",
        ),
    ],
)
def test_bad_manifests_name_the_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in JOB
    path = write(tmp_path, JOB.replace(*change))
    with pytest.raises(HarnessError) as raised:
        load_manifest(path)
    assert expected in str(raised.value)
    assert str(path) in str(raised.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: batch/v1\nkind: Job\nspec: [unclosed\n")
    with pytest.raises(HarnessError, match=r"job.yaml:\d+: not valid YAML"):
        load_manifest(path)


def test_missing_manifest_is_named(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="Kubernetes manifest not found"):
        load_manifest(tmp_path / "absent.yaml")


def test_line_wrapped_base64_is_decoded_as_kubernetes_does(tmp_path: Path) -> None:
    manifest = load_manifest(
        write(tmp_path, JOB.replace("data: {TOKEN: c2VjcmV0}", "data:\n  TOKEN: |\n    c2Vj\n    cmV0"))
    )
    assert manifest.secrets["nut-env"]["TOKEN"] == "secret"


def test_a_mount_of_an_undefined_volume_names_the_right_container_list(tmp_path: Path) -> None:
    text = JOB.replace(
        "      containers:\n", "      initContainers:\n        - {name: prep, image: i}\n      containers:\n"
    )
    with pytest.raises(HarnessError, match=r"containers\[0\]\.volumeMounts"):
        load_manifest(write(tmp_path, text.replace("- {name: key, mountPath", "- {name: nokey, mountPath")))


def test_a_containers_security_context_overrides_the_pods(tmp_path: Path) -> None:
    text = JOB.replace(
        "      restartPolicy: OnFailure\n",
        "      restartPolicy: OnFailure\n      securityContext: {runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000}\n",
    ).replace(
        "          command: [/app/deploy.sh]\n",
        "          command: [/app/deploy.sh]\n          securityContext: {runAsUser: 1001}\n",
    )
    job = load_manifest(write(tmp_path, text)).job
    assert job is not None
    security = job.pod.containers[0].security
    assert (security.run_as_user, security.run_as_non_root) == (1001, True)
    assert job.pod.fs_group == 2000


CRON_JOB = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: nut-drift, namespace: infra}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: check
              image: registry.example.com/pve-nut:1.0
              command: [/app/check-drift.sh]
"""


def test_a_cron_job_is_read_as_the_job_its_template_makes(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, JOB + "---" + CRON_JOB))
    assert manifest.job is not None and manifest.job.name == "nut-deploy"  # the deployer's Job stays the workload
    cron_job = manifest.cron_jobs["nut-drift"]
    assert (cron_job.name, cron_job.namespace, cron_job.backoff_limit) == ("nut-drift", "infra", 0)
    assert [(c.name, c.command) for c in cron_job.pod.containers] == [("check", ("/app/check-drift.sh",))]


def test_a_cron_job_alone_is_no_workload(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, CRON_JOB))
    assert (manifest.job, manifest.daemonset, list(manifest.cron_jobs)) == (None, None, ["nut-drift"])


def test_a_cron_jobs_backoff_limit_defaults_to_six(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, CRON_JOB.replace("      backoffLimit: 0\n", "")))
    assert manifest.cron_jobs["nut-drift"].backoff_limit == 6


@pytest.mark.parametrize("schedule", ["@hourly", "*/15 * * * *", "30 2 * * 1-5", "@every 1h30m", "0 0 * JUL WED"])
def test_cron_job_schedules_kubernetes_accepts_are_accepted(tmp_path: Path, schedule: str) -> None:
    manifest = load_manifest(write(tmp_path, CRON_JOB.replace('"0 * * * *"', f'"{schedule}"')))
    assert list(manifest.cron_jobs) == ["nut-drift"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('"0 * * * *"', '"61 * * * *"'), "spec.schedule` is '61 * * * *', not a cron schedule"),
        (('"0 * * * *"', '"0 * * *"'), "spec.schedule` is '0 * * *', not a cron schedule"),
        # What croniter accepts and the CronJob controller (robfig/cron's standard parser) does not:
        (('"0 * * * *"', '"* * * * * *"'), "spec.schedule` is '* * * * * *', not a cron schedule"),
        (('"0 * * * *"', '"0 0 L * *"'), "spec.schedule` is '0 0 L * *', not a cron schedule"),
        (('"0 * * * *"', '"0 0 * * MON#1"'), "spec.schedule` is '0 0 * * MON#1', not a cron schedule"),
        (('"0 * * * *"', '"CRON_TZ=UTC 0 * * * *"'), "set the time zone with `spec.timeZone`"),
        (('"0 * * * *"', '"TZ=Europe/Berlin 0 * * * *"'), "spec.schedule` is 'TZ=Europe/Berlin 0 * * * *'"),
        (('  schedule: "0 * * * *"\n', ""), "spec.schedule` is required"),
        (("apiVersion: batch/v1", "apiVersion: batch/v1beta1"), "CronJobs are `batch/v1`"),
        (("  jobTemplate:\n    spec:\n", "  jobTemplat:\n    spec:\n"), "spec.jobTemplate` is required"),
        (("restartPolicy: Never", "restartPolicy: Always"), "restartPolicy` is 'Always'"),
        (("backoffLimit: 0", "backoffLimit: 1.5"), "spec.jobTemplate.spec.backoffLimit` must be a whole number"),
    ],
)
def test_bad_cron_jobs_name_the_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    assert change[0] in CRON_JOB
    path = write(tmp_path, CRON_JOB.replace(*change))
    with pytest.raises(HarnessError) as raised:
        load_manifest(path)
    assert expected in str(raised.value)
    assert str(path) in str(raised.value)
