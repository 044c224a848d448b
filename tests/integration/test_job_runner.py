"""The Job runner on real containers: success, failure with logs, deadline, backoff."""

from __future__ import annotations

from docker.models.containers import Container

from harness.deployment import Deployment
from harness.k8s.pod import SecurityContext
from harness.workbench import Workbench
from harness.workloads import Version
from harness.workloads.job import JobWorkload


def test_a_working_deployer_changes_its_host(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    with Deployment(bench, test_spec("hello")) as deployment:
        result = deployment.apply()
        assert result.succeeded, result.describe()
        assert "deploying greeting to" in result.logs
        web = deployment.testbed.machines["web1"]
        # The manifest's production address reached the simulated machine, and only it.
        assert f"deploying greeting to {web.address}" in result.logs
        assert web.host.file("/etc/hello/greeting.conf").content_string == "hello from the manifest\n"
        env = web.host.file("/etc/hello/.env")
        assert (env.mode, env.content_string) == (0o600, "TOKEN=t0ken-for-tests\n")


def test_a_failing_deployer_is_reported_with_its_log_and_retried(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    with Deployment(bench, test_spec("failing")) as deployment:
        result = deployment.apply()
    assert not result.succeeded
    assert result.reason == "BackoffLimitExceeded"
    assert [a.exit_code for a in result.attempts] == [3, 3]  # backoffLimit: 1 -> two tries
    assert len({a.pod for a in result.attempts}) == 2  # restartPolicy Never: a new pod per try
    assert "permission denied" in result.describe()


def test_on_failure_restarts_in_the_same_pod_until_the_restart_count_reaches_the_limit(  # type: ignore[no-untyped-def]
    bench: Workbench, test_spec
) -> None:
    from dataclasses import replace

    with Deployment(bench, test_spec("failing")) as deployment:
        job = deployment.manifest.job
        assert job is not None
        on_failure = replace(job, backoff_limit=3, pod=replace(job.pod, restart_policy="OnFailure"))
        version = replace(deployment.current, manifest=replace(deployment.manifest, job=on_failure))
        result = deployment.apply(version)
    assert result.reason == "BackoffLimitExceeded"
    assert len(result.attempts) == 3  # the Job controller fails it when restarts reach backoffLimit
    assert len({a.pod for a in result.attempts}) == 1


def test_a_hanging_deployer_is_stopped_at_the_deadline(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    with Deployment(bench, test_spec("slow")) as deployment:
        result = deployment.apply()
    assert not result.succeeded
    assert result.reason == "DeadlineExceeded"
    assert len(result.attempts) == 1
    assert result.attempts[0].seconds < 60
    assert "waiting for a lock" in result.logs


def test_the_secret_volume_has_its_default_mode(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    spec = test_spec("hello")
    with Deployment(bench, spec) as deployment:
        image = bench.deployer_image(spec)
        probe = (
            "stat -c '%a %U' /etc/ssh-key/id_ed25519; head -c 35 /etc/ssh-key/id_ed25519; echo;"
            "touch /etc/ssh-key/known_hosts 2>&1 || true; stat -c 'tmp %a' /tmp"
        )
        result = _run_with_command(deployment, image, probe)
    assert result.succeeded, result.describe()
    assert "400 root" in result.logs  # defaultMode: 0400 in the manifest
    assert "-----BEGIN OPENSSH PRIVATE KEY-----" in result.logs
    assert "Read-only file system" in result.logs  # the kubelet mounts secret volumes read-only
    assert "tmp 1777" in result.logs


def test_the_security_context_is_honoured(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    spec = test_spec("hello")
    with Deployment(bench, spec) as deployment:
        image = bench.deployer_image(spec)
        probe = "id -u; id -G; stat -c 'key %a %g' /etc/ssh-key/id_ed25519; touch /opt/x 2>&1 || true"
        context = SecurityContext(run_as_user=65534, run_as_group=65534, read_only_root_filesystem=True)
        result = _run_with_command(deployment, image, probe, security=context, fs_group=2000)
        assert result.succeeded, result.describe()
        assert result.logs.splitlines()[0] == "65534"
        assert "2000" in result.logs.splitlines()[1].split()  # fsGroup is a supplementary group
        assert "key 440 2000" in result.logs  # 0400 plus the kubelet's group read, owned by fsGroup
        assert "Read-only file system" in result.logs

        refused = _run_with_command(deployment, image, "true", security=SecurityContext(run_as_non_root=True))
    assert refused.reason == "CreateContainerConfigError"
    assert "runAsNonRoot and image will run as root" in refused.logs
    assert len(refused.attempts) == 1


def _run_with_command(  # type: ignore[no-untyped-def]
    deployment: Deployment, image: str, script: str, *, security=None, fs_group=None
):
    """Run the Job's pod with its command replaced, to look inside the pod the harness builds."""
    from dataclasses import replace

    job = deployment.manifest.job
    assert job is not None
    container = replace(job.pod.containers[0], command=("bash", "-c", script), args=None)
    if security is not None:
        container = replace(container, security=security)
    pod = replace(job.pod, containers=(container,), fs_group=fs_group)
    manifest = replace(deployment.manifest, job=replace(job, pod=pod))
    return deployment.apply(Version("probe", image, manifest))


def test_a_job_deployer_that_asks_for_the_mirror_gets_it(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    with Deployment(bench, replace(test_spec("hello"), mirror=True)) as deployment:
        web = deployment.testbed.machines["web1"]
        assert deployment.testbed.mirror is not None
        code, proxy = web.exec("cat /etc/apt/apt.conf.d/01deployer-harness-mirror")
        assert code == 0 and 'Acquire::http::Proxy "http://mirror:3142"' in proxy, proxy
        assert web.exec("getent hosts mirror")[0] == 0  # the mirror is on the machine's network


def test_read_only_volumes_are_filled_once_for_every_pod_with_the_same_files_and_go_with_the_testbed(  # type: ignore[no-untyped-def]
    bench: Workbench, test_spec
) -> None:
    import time

    from harness.engine.labels import SCOPE

    with Deployment(bench, test_spec("hello")) as deployment:
        workload = deployment.workload
        assert isinstance(workload, JobWorkload)
        waited = time.monotonic() + 60
        while not workload.kept.volumes and time.monotonic() < waited:  # filled ahead, before any pod asks
            time.sleep(0.05)
        ahead = dict(workload.kept.volumes)
        assert len(ahead) == 1, "the Secret volume is filled while the machines are scanned, before the first pod"
        for _ in range(2):
            assert deployment.apply().succeeded
        scope = deployment.testbed.ownership.scope
        volumes = bench.client.volumes.list(filters={"label": f"{SCOPE}={scope}"})
        assert workload.kept.volumes == ahead  # the SSH key's Secret volume, filled once, before the first pod
        assert [v.name for v in volumes] == list(workload.kept.volumes.values())
    assert bench.client.volumes.list(filters={"label": f"{SCOPE}={scope}"}) == []


def test_every_pod_has_a_sandbox_of_its_own_named_as_the_pod_and_none_is_left(  # type: ignore[no-untyped-def]
    bench: Workbench, test_spec
) -> None:
    from dataclasses import replace

    from harness.engine.labels import ROLE, SCOPE

    def sandboxes(scope: str) -> dict[str, Container]:  # by name; listed only (those of ended pods are going)
        labels = [f"{SCOPE}={scope}", f"{ROLE}=pod-sandbox"]
        listed = bench.client.containers.list(all=True, sparse=True, filters={"label": labels})
        return {c.attrs["Names"][0]: c for c in listed}

    with Deployment(bench, test_spec("hello")) as deployment:
        scope = deployment.testbed.ownership.scope
        job = deployment.manifest.job
        assert job is not None
        (container,) = job.pod.containers
        says_its_name = replace(container, command=("sh", "-c", "echo pod=$(hostname) $(cat /etc/hostname)"), args=None)
        named = replace(job, pod=replace(job.pod, containers=(says_its_name,)))
        version = replace(deployment.current, manifest=replace(deployment.manifest, job=named))
        pods = []
        for _ in range(2):
            result = deployment.apply(version)
            assert result.succeeded, result.describe()
            pod = result.attempts[0].pod
            assert pod.startswith("hello-deploy-") and f"pod={pod} {pod}" in result.logs  # as the kubelet names it
            pods.append(pod)
        assert pods[0] != pods[1]  # a new pod, a new name: never the sandbox of the pod before
        (ahead,) = [c for name, c in sandboxes(scope).items() if not any(pod in name for pod in pods)]
        ahead.remove(force=True)  # the next pod's, started while this one ran: whoever removes it, a pod gets one
        assert deployment.apply(version).succeeded
    assert sandboxes(scope) == {}


def test_a_job_without_a_deadline_gets_the_harness_s_and_says_so(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    """Kubernetes would let a Job without activeDeadlineSeconds run forever; a test run must end, and say why."""
    from dataclasses import replace

    spec = replace(test_spec("slow"), deadline_seconds=2.0, deadline_source="`runner.deadline_seconds` in harness.yaml")
    with Deployment(bench, spec) as deployment:
        job = deployment.manifest.job
        assert job is not None and job.active_deadline_seconds is not None  # the test deployer sets its own
        endless = replace(deployment.manifest, job=replace(job, active_deadline_seconds=None))
        result = deployment.apply(replace(deployment.current, manifest=endless))
    assert result.reason == "DeadlineExceeded"
    assert result.attempts[0].seconds < 30
    assert (
        "DeadlineExceeded: 2 s, `runner.deadline_seconds` in harness.yaml, as the Job sets no activeDeadlineSeconds"
        in (result.describe())
    )


def test_a_container_that_cannot_start_is_a_failed_pod_with_kubernetes_reason(bench: Workbench, test_spec) -> None:  # type: ignore[no-untyped-def]
    """An entrypoint that is not executable, or not there: the runtime cannot exec it. Kubernetes reports the
    container terminated with reason StartError and exit code 128, and the Job retries it as any failure."""
    from dataclasses import replace

    with Deployment(bench, test_spec("failing")) as deployment:
        job = deployment.manifest.job
        assert job is not None
        results = []
        for command in (("/etc/hostname",), ("/no/such/deploy.sh",)):
            container = replace(job.pod.containers[0], command=command, args=None)
            broken = replace(job, backoff_limit=1, pod=replace(job.pod, containers=(container,)))
            results.append(
                deployment.apply(replace(deployment.current, manifest=replace(deployment.manifest, job=broken)))
            )
    for result in results:
        assert (result.succeeded, result.reason) == (False, "BackoffLimitExceeded"), result.describe()
        assert [(a.reason, a.exit_code) for a in result.attempts] == [("StartError", 128)] * 2
    not_executable, absent = (r.describe() for r in results)
    assert "permission denied" in not_executable
    assert "no such file or directory" in absent.lower()
