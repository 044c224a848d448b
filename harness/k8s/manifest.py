"""A deployer's manifest file: the Job or the DaemonSet, plus ConfigMaps and Secrets beside it."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from croniter import croniter

from harness.errors import HarnessError
from harness.k8s.pod import PodSpec, parse_pod_spec
from harness.kustomize.paths import read_paths
from harness.kustomize.render import Rendered, render
from harness.yaml_fields import Fields, load_yaml_documents, parse_yaml_documents

DEFAULT_BACKOFF_LIMIT = 6  # Kubernetes' default for Jobs
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class JobSpec:
    name: str
    namespace: str
    pod: PodSpec
    backoff_limit: int = DEFAULT_BACKOFF_LIMIT
    active_deadline_seconds: float | None = None


@dataclass(frozen=True)
class DaemonSetSpec:
    name: str
    namespace: str
    pod: PodSpec
    strategy: str = "RollingUpdate"  # or OnDelete
    max_unavailable: str = "1"  # a number of nodes or a percentage ("25%")
    min_ready_seconds: float = 0.0
    selector: dict[str, str] = field(default_factory=dict)  # spec.selector.matchLabels

    def unavailable_budget(self, desired: int) -> int:
        """How many nodes may be without a ready pod during a rolling update (DaemonSets round percentages up)."""
        if self.max_unavailable.endswith("%"):
            return max(1, -(-desired * int(self.max_unavailable[:-1]) // 100))
        return max(1, int(self.max_unavailable))


@dataclass(frozen=True)
class Manifest:
    path: Path
    job: JobSpec | None
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    daemonset: DaemonSetSpec | None = None
    cron_jobs: dict[str, JobSpec] = field(default_factory=dict)  # by name: each one's jobTemplate, as a Job
    encrypted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # SOPS-encrypted Secrets: name -> keys
    rendered_by: str | None = None  # a kustomization folder's renderer (kustomize, or the harness's subset)

    @property
    def files(self) -> tuple[Path, ...]:
        return written_files(self.path)

    @property
    def has_workload(self) -> bool:
        """Whether it holds what a deployer runs: a Job or a DaemonSet."""
        return self.job is not None or self.daemonset is not None

    @property
    def namespace(self) -> str:
        workload = self.job or self.daemonset
        return workload.namespace if workload is not None else "default"


def manifest_documents(path: Path) -> tuple[list[Any], Rendered | None]:
    """The manifest's documents: a file's, or a kustomization folder's as rendered."""
    if not path.is_dir():
        return load_yaml_documents(path, "Kubernetes manifest"), None
    rendered = render(path)
    return parse_yaml_documents(rendered.text, path), rendered


def manifest_sources(path: Path) -> list[Path]:
    """What the manifest is read from: the file, or what its kustomization folder reads."""
    return read_paths(path) if path.is_dir() else [path]


def manifest_tree(path: Path, repository: Path) -> list[Path]:
    """What an older commit's checkout of the manifest needs, should a base have moved since: the folder that
    holds all a kustomization folder reads (`k8s/`, above its bases and overlays) when it lies below the
    repository's root, else each path it reads; the manifest file itself."""
    if not path.is_dir():
        return [path]
    read = [p.resolve() for p in read_paths(path)]
    inside = [p for p in read if p.is_relative_to(repository)]
    tree = Path(os.path.commonpath([str(p if p.is_dir() else p.parent) for p in inside or [path.resolve()]]))
    return [tree] if tree != repository and tree.is_relative_to(repository) else inside


def written_files(path: Path) -> tuple[Path, ...]:
    """The YAML files a manifest's objects are written in: the file, or a folder's kustomization files (its own
    first) and the resource and patch files they read."""
    if not path.is_dir():
        return (path,)
    return tuple(
        p for p in read_paths(path) if p.is_file() and (p.suffix in (".yaml", ".yml") or p.name == "Kustomization")
    )


def load_manifest(path: Path) -> Manifest:
    documents, rendered = manifest_documents(path)
    jobs: list[JobSpec] = []
    daemonsets: list[DaemonSetSpec] = []
    config_maps: dict[str, dict[str, str]] = {}
    secrets: dict[str, dict[str, str]] = {}
    cron_jobs: dict[str, JobSpec] = {}
    encrypted: dict[str, tuple[str, ...]] = {}
    for index, document in enumerate(documents):
        prefix = f"(document {index + 1})" if rendered is None else _rendered_prefix(document, rendered.by)
        top = Fields(path, document, prefix)
        kind = top.text("kind", required=True, fix="every document needs `apiVersion` and `kind`")
        if kind == "Job":
            jobs.append(_job(top))
        elif kind == "DaemonSet":
            daemonsets.append(_daemonset(top))
        elif kind == "CronJob":
            cron_job = _cron_job(top)
            cron_jobs[cron_job.name] = cron_job
        elif kind == "ConfigMap":
            config_maps[_name(top)] = top.string_map("data")
        elif kind == "Secret" and "sops" in top.data:  # ciphertext (`ENC[...]`): the spec's test values stand in
            encrypted[_name(top)], secrets[_name(top)] = _sops(top)
        elif kind == "Secret":
            secrets[_name(top)] = {**_decoded(top.mapping("data")), **top.string_map("stringData")}
    if len(jobs) > 1:
        raise HarnessError("holds more than one Job", where=path, fix="keep one Job per deployer manifest")
    if len(daemonsets) > 1 or (jobs and daemonsets):
        raise HarnessError(
            "holds more than one workload", where=path, fix="keep one Job or one DaemonSet per deployer manifest"
        )
    daemonset = daemonsets[0] if daemonsets else None
    by = rendered.by if rendered else None
    return Manifest(path, jobs[0] if jobs else None, config_maps, secrets, daemonset, cron_jobs, encrypted, by)


def _rendered_prefix(document: Any, by: str) -> str:
    """A rendered object is named by its kind and name: its document number means nothing in the folder."""
    if not isinstance(document, dict):
        return f"(an object rendered by {by})"
    name = (document.get("metadata") or {}).get("name") if isinstance(document.get("metadata"), dict) else None
    return f"({document.get('kind')} {name}, rendered by {by})"


def _workload(top: Fields, api: str, kinds: str) -> tuple[Fields, Fields, Fields, PodSpec]:
    """A workload's apiVersion checked, and its metadata, spec, pod template and pod spec."""
    written = top.text("apiVersion", required=True)
    if written != api:
        raise top.error("apiVersion", f"is {written!r}; {kinds} are `{api}`", f"write `apiVersion: {api}`")
    metadata = top.mapping("metadata", required=True)
    spec = top.mapping("spec", required=True)
    template = spec.mapping("template", required=True)
    return metadata, spec, template, parse_pod_spec(template.mapping("spec", required=True))


def _daemonset(top: Fields) -> DaemonSetSpec:
    metadata, spec, template, pod = _workload(top, "apps/v1", "DaemonSets")
    if pod.restart_policy != "Always":
        raise template.error(
            "spec.restartPolicy", f"is {pod.restart_policy!r}; a DaemonSet's pods restart `Always`", "remove it"
        )
    selector = _check_selector(spec, template)
    strategy = spec.mapping("updateStrategy")
    kind = strategy.choice("type", "RollingUpdate", ("RollingUpdate", "OnDelete"))
    rolling = strategy.mapping("rollingUpdate")
    budget = rolling.text("maxUnavailable", "1")
    if not (budget.isdigit() or (budget.endswith("%") and budget[:-1].isdigit())):
        raise rolling.error("maxUnavailable", f"is {budget!r}", "give a number of nodes (1) or a percentage (25%)")
    if budget.rstrip("%") == "0":
        raise rolling.error("maxUnavailable", "is 0, which Kubernetes refuses without maxSurge", "use 1 or more")
    if rolling.has("maxSurge") and str(rolling.data["maxSurge"]).rstrip("%") != "0":
        raise rolling.error("maxSurge", "is not supported by the simulated cluster", "roll out with maxUnavailable")
    name = metadata.text("name", required=True)
    if not _DNS_LABEL.match(name):
        raise metadata.error("name", f"is {name!r}, not a DNS-1123 name", "use lower-case letters, digits and dashes")
    return DaemonSetSpec(
        name=metadata.text("name", required=True),
        namespace=metadata.text("namespace", "default"),
        pod=pod,
        strategy=kind,
        max_unavailable=budget,
        min_ready_seconds=spec.number("minReadySeconds", 0.0, minimum=0),
        selector=selector,
    )


def _check_selector(spec: Fields, template: Fields) -> dict[str, str]:
    """apps/v1 requires spec.selector, and it must match the template's labels (the API server refuses otherwise)."""
    wanted = spec.mapping("selector", required=True).string_map("matchLabels")
    labels = template.mapping("metadata").string_map("labels")
    missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
    if not wanted or missing:
        raise spec.error(
            "selector.matchLabels",
            f"does not match the template's labels {labels}",
            "give the template the labels the selector names (`spec.template.metadata.labels`)",
        )
    return wanted


def _name(top: Fields) -> str:
    return top.mapping("metadata", required=True).text("name", required=True)


def _job(top: Fields) -> JobSpec:
    metadata, spec, template, pod = _workload(top, "batch/v1", "Jobs")
    return _job_spec(metadata, spec, template, pod)


def _cron_job(top: Fields) -> JobSpec:
    """A CronJob's jobTemplate, as the Job the CronJob controller would create from it."""
    written = top.text("apiVersion", required=True)
    if written != "batch/v1":
        raise top.error("apiVersion", f"is {written!r}; CronJobs are `batch/v1`", "write `apiVersion: batch/v1`")
    metadata = top.mapping("metadata", required=True)
    spec = top.mapping("spec", required=True)
    schedule = spec.text("schedule", required=True, fix="give a cron schedule, e.g. `0 * * * *`")
    if "TZ=" in schedule:  # Kubernetes refuses these since 1.27
        raise spec.error("schedule", f"is {schedule!r}", "set the time zone with `spec.timeZone`, not in the schedule")
    if not _kubernetes_schedule(schedule):
        raise spec.error("schedule", f"is {schedule!r}, not a cron schedule", "use five fields, e.g. `*/15 * * * *`")
    job = spec.mapping("jobTemplate", required=True).mapping("spec", required=True)
    template = job.mapping("template", required=True)
    pod = parse_pod_spec(template.mapping("spec", required=True))
    return _job_spec(metadata, job, template, pod)


_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_GO_DURATION = re.compile(r"^@every ((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_QUARTZ_ONLY = re.compile(r"#|(^|,)L|\dL|\dW|LW")  # robfig/cron's standard parser has no L, W or #


def _kubernetes_schedule(schedule: str) -> bool:
    """What the CronJob controller accepts (robfig/cron's ParseStandard): five fields, or a descriptor."""
    if schedule.startswith("@"):
        return schedule in _DESCRIPTORS or bool(_GO_DURATION.match(schedule))
    fields = schedule.split()
    return len(fields) == 5 and not any(_QUARTZ_ONLY.search(f) for f in fields) and croniter.is_valid(schedule)


def _job_spec(metadata: Fields, spec: Fields, template: Fields, pod: PodSpec) -> JobSpec:
    name = metadata.text("name", required=True)
    if len(name) > 63 or not _DNS_SUBDOMAIN.match(name):  # its pods carry it as a label value: 63 at most
        raise metadata.error(
            "name",
            f"is {name!r}, which Kubernetes refuses for a Job",
            "use at most 63 lower-case letters, digits, dashes and dots, starting and ending with a letter or digit",
        )
    if pod.restart_policy not in ("OnFailure", "Never"):
        raise template.error(
            "spec.restartPolicy",
            f"is {pod.restart_policy!r}; a Job's pods need `OnFailure` or `Never`",
            "set `restartPolicy: OnFailure` (Kubernetes rejects Always for Jobs)",
        )
    backoff = spec.number("backoffLimit", DEFAULT_BACKOFF_LIMIT)
    if backoff < 0 or backoff != int(backoff):
        raise spec.error(
            "backoffLimit", f"must be a whole number of retries, 0 or more, not {backoff:g}", "e.g. `backoffLimit: 2`"
        )

    deadline = spec.data.get("activeDeadlineSeconds")
    if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int) or deadline <= 0):
        raise spec.error(
            "activeDeadlineSeconds",
            f"must be a positive integer, not {deadline!r}",
            "write whole seconds, unquoted, e.g. `activeDeadlineSeconds: 600`",
        )
    return JobSpec(
        name=name,
        namespace=metadata.text("namespace", "default"),
        pod=pod,
        backoff_limit=int(backoff),
        active_deadline_seconds=float(deadline) if deadline is not None else None,
    )


def _sops(top: Fields) -> tuple[tuple[str, ...], dict[str, str]]:
    """A SOPS-encrypted Secret: the keys whose values are ciphertext, and the values left plain (`encrypted_regex`
    and `unencrypted_suffix` leave some so), `data`'s decoded."""
    data, plain = top.mapping("data"), top.string_map("stringData")
    ciphered = {str(k) for k, v in {**data.data, **plain}.items() if str(v).startswith("ENC[")}
    left = Fields(data.path, {k: v for k, v in data.data.items() if str(k) not in ciphered}, data.prefix)
    values = {**_decoded(left), **{k: v for k, v in plain.items() if k not in ciphered}}
    return tuple(sorted(ciphered)), values


def _decoded(data: Fields) -> dict[str, str]:
    result = {}
    for key, value in data.items():
        try:
            # Like Kubernetes (Go's decoder), ignore line breaks: `base64` wraps at 76 columns.
            result[key] = base64.b64decode("".join(str(value).split()), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise data.error(key, "is not base64 text", "put plain values under `stringData`") from None
    return result
