"""Which of a Job's containers the harness runs: the deployer's, and the init containers before it."""

from __future__ import annotations

from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError
from harness.k8s.manifest import JobSpec
from harness.k8s.pod import Container


def deployer_container(spec: DeployerSpec, job: JobSpec) -> str:
    """The container of the Job's pod that runs the deployer's image."""
    names = [c.name for c in job.pod.containers]
    if spec.container is not None:
        if spec.container not in names:
            raise HarnessError(
                f"`container` names {spec.container!r}, which the Job does not have",
                where=spec.path,
                fix=f"use one of: {', '.join(names)}",
            )
        return spec.container
    if len(names) != 1:
        raise HarnessError(
            "the Job has several containers; which one is the deployer?",
            where=spec.path,
            fix=f"add `container:` with one of: {', '.join(names)}",
        )
    return names[0]


def run_containers(spec: DeployerSpec, job: JobSpec) -> list[Container]:
    """The init containers (not the native sidecars, `restartPolicy: Always`), then the deployer's: as run_job runs
    a pod (sidecars are not run)."""
    deployer = deployer_container(spec, job)
    return [*job.pod.init_steps, *(c for c in job.pod.containers if c.name == deployer)]
