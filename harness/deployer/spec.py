"""The deployer's spec file, ``harness.yaml``: what the harness cannot guess.

manifest: k8s/job.yaml          # the Kubernetes manifest, or a kustomization folder (default: the only one in k8s/)
build: {context: ., dockerfile: Dockerfile}
container: deploy               # which container of the pod is the deployer (default: the only one)
machines:
  pve1: {kind: pve-8, hostname: pve1, address: 192.0.2.10, aliases: [pve1.example.org]}
    # vms: {108: {name: frigate}}  (pve-8: VMs present before the first apply; see deployer/vms.py)
ssh_key: {secret: pve-nut-ssh-key, key: id_ed25519}
known_hosts: {secret: pve-nut-known-hosts, key: known_hosts}   # the machines' own host keys, for pinning
secrets: {pve-nut-secrets: {NUT_ADMIN_PASSWORD: test-value}}
config_maps: {}
verify: {tests: tests, host: pve1}
runner: {backoff_seconds: 1, deadline_seconds: 600}   # the apply's deadline when the Job sets none
state:                          # managed state, beyond what the first apply touched (derived by default)
  paths: [/etc/nut]
  exclude: [/opt/pve-nut/log]   # find -path patterns: logs the deployer or its tests append to
  units: [nut-server.service]
  sysctl: [vm.swappiness]
  derive: true
idempotency: {rewritten: warn, restarted: warn, reinstalled: warn}   # findings: warn, fail or ignore
gitops: {tags: ["main-{sha}-{timestamp}"], paths: [../../clusters/prod]}   # the tags CI makes; more Flux objects
drift: {manifest: k8s/drift-check.yaml}   # how the drift check runs (see harness/deployer/sections.py)
rollback: {stamp: /opt/pve-nut/.version}  # where the previous version comes from, the version stamp
mirror: false                   # a Debian package mirror (apt proxy) on the test network; default: with `cluster`
cluster:                        # instead of `machines`, for a DaemonSet: the simulated cluster's nodes
  nodes:
    cp1:
      labels: {node-role.kubernetes.io/control-plane: ""}
      taints: ["node-role.kubernetes.io/control-plane:NoSchedule"]
    w1: {labels: {node-type: gpu}}
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.deployer.lint_section import LintSpec, default_lint, lint_spec
from harness.deployer.sections import DriftSpec, GitOpsSpec, RollbackSpec, drift_spec, gitops_spec, rollback_spec
from harness.deployer.setup import MachineSetup, machine_setup
from harness.deployer.vms import vm_files
from harness.errors import HarnessError
from harness.k8s.scheduling import EFFECTS, Node, Taint
from harness.kustomize.paths import FILE_NAMES, find_file
from harness.state.diff import FINDING_KINDS
from harness.state.model import WatchSpec
from harness.world.spec import WorldSpec, world_section
from harness.yaml_fields import Fields, load_yaml_documents

SPEC_FILE = "harness.yaml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")  # part of container names and network aliases
_IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")  # a path component of an image's name
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$")
_TOP = (
    "gitops",
    "manifest",
    "build",
    "container",
    "machines",
    "ssh_key",
    "known_hosts",
    "secrets",
    "config_maps",
    "verify",
    "runner",
    "state",
    "idempotency",
    "cluster",
    "mirror",
    "drift",
    "rollback",
    "world",
    "lint",
)
NODE_KIND = "k8s-node"  # the machine kind of simulated cluster nodes
FINDING_POLICIES = ("warn", "fail", "ignore")
DEFAULT_APPLY_DEADLINE = 600.0  # seconds: a Job without activeDeadlineSeconds never hangs the run


@dataclass(frozen=True)
class MachineSpec:
    name: str
    kind: str
    hostname: str
    address: str | None = None  # the production address the manifest names
    aliases: tuple[str, ...] = ()
    setup: MachineSetup = field(default_factory=MachineSetup)  # the host as it is before the first apply


@dataclass(frozen=True)
class SecretKeySpec:
    """A key of a Secret the harness fills with what only the run knows (the SSH key, the host keys)."""

    secret: str
    key: str


@dataclass(frozen=True)
class DeployerSpec:
    name: str
    folder: Path
    path: Path
    manifest: Path
    build_context: Path
    dockerfile: str
    container: str | None
    machines: tuple[MachineSpec, ...]
    ssh_key: SecretKeySpec | None
    known_hosts: SecretKeySpec | None = None  # where the machines' host keys go, for a deployer that pins them
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    tests: Path | None = None
    verify_host: str | None = None
    backoff_seconds: float = 1.0
    # A Job without activeDeadlineSeconds ends after this many seconds; where the value came from is reported.
    deadline_seconds: float = DEFAULT_APPLY_DEADLINE
    deadline_source: str = "the harness's default"
    state: WatchSpec = field(default_factory=WatchSpec)
    nodes: tuple[Node, ...] = ()  # the simulated cluster's nodes, for DaemonSet deployers
    mirror: bool = False  # a Debian package mirror on the test network (default: for DaemonSet deployers)
    findings: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FINDING_KINDS, "warn"))
    drift: DriftSpec = field(default_factory=DriftSpec)
    rollback: RollbackSpec = field(default_factory=RollbackSpec)
    world: WorldSpec | None = None  # the outside it downloads from; None: nothing outside exists
    build_args: dict[str, str] = field(default_factory=dict)  # `docker build --build-arg`s of its image
    lint: LintSpec = field(default_factory=default_lint)  # how much each lint check counts, what is declared
    gitops: GitOpsSpec = field(default_factory=GitOpsSpec)  # the tags CI makes, where the Flux objects are

    @property
    def workload(self) -> str:
        """job or daemonset, as the scenarios' ``workload`` field names them."""
        return "daemonset" if self.nodes else "job"


def load_spec(
    folder: Path, machine_kinds: list[str], default_deadline: tuple[float, str] | None = None
) -> DeployerSpec:
    """``default_deadline``: the apply deadline when neither the Job nor the spec sets one, and its source."""
    path = folder / SPEC_FILE
    top = _top(folder, path)
    manifest = _manifest_path(folder, top)
    context, dockerfile = _build(folder, top)
    build_args = top.mapping("build").string_map("args")  # a base chosen at build time, an air-gapped mirror
    nodes = _nodes(top)
    if nodes and top.has("machines"):
        raise top.error("machines", "and `cluster` are both given", "a DaemonSet deployer names `cluster.nodes` only")
    machines = tuple(MachineSpec(n.name, NODE_KIND, n.name) for n in nodes) if nodes else _machines(top, machine_kinds)
    tests, verify_host = _verify(folder, top, machines)
    runner = top.mapping("runner", known=("backoff_seconds", "deadline_seconds"))
    deadline, deadline_source = default_deadline or (DEFAULT_APPLY_DEADLINE, "the harness's default")
    if runner.has("deadline_seconds"):
        deadline = runner.number("deadline_seconds", deadline, minimum=1)
        deadline_source = f"`runner.deadline_seconds` in {SPEC_FILE}"
    return DeployerSpec(
        name=folder.name,
        folder=folder,
        path=path,
        manifest=manifest,
        build_context=context,
        dockerfile=dockerfile,
        container=top.optional_text("container"),
        machines=machines,
        ssh_key=_secret_key(top, "ssh_key", None),
        known_hosts=_secret_key(top, "known_hosts", "known_hosts"),
        secrets=_named_maps(top, "secrets"),
        config_maps=_named_maps(top, "config_maps"),
        tests=tests,
        verify_host=verify_host,
        backoff_seconds=runner.number("backoff_seconds", 1.0, minimum=0),
        deadline_seconds=deadline,
        deadline_source=deadline_source,
        state=_watch(top),
        nodes=nodes,
        mirror=top.flag("mirror", bool(nodes)),
        findings=_findings(top),
        drift=drift_spec(folder, top, tuple(m.name for m in machines), daemonset=bool(nodes)),
        rollback=rollback_spec(top),
        world=world_section(folder, top),
        build_args=build_args,
        lint=lint_spec(top),
        gitops=gitops_spec(top, folder),
    )


def _top(folder: Path, path: Path) -> Fields:
    """The spec's one document, from a folder whose name can name an image."""
    if not _IMAGE_NAME.match(folder.name):
        raise HarnessError(
            f"the deployer's folder name {folder.name!r} cannot name its image",
            where=folder,
            fix="rename the folder: lower-case letters and digits, with single `.`, `_` or `-` between them "
            "(Docker's rule for image names), e.g. `pve-nut`",
        )
    documents = load_yaml_documents(path, "deployer spec")
    if not documents:
        raise HarnessError(
            "is empty",
            where=path,
            fix="declare at least the machines the deployer configures, e.g. "
            "`machines: {pve1: {kind: pve-8, address: 192.0.2.10}}` (or `cluster.nodes` for a DaemonSet)",
        )
    if len(documents) != 1:
        raise HarnessError("must hold exactly one YAML document", where=path, fix="remove the extra `---` documents")
    return Fields(path, documents[0], known=_TOP)


def _build(folder: Path, top: Fields) -> tuple[Path, str]:
    build = top.mapping("build", known=("context", "dockerfile", "args"))
    context = (folder / build.text("context", ".")).resolve()
    dockerfile = build.text("dockerfile", "Dockerfile")
    if not (context / dockerfile).is_file():
        raise build.error(
            "dockerfile",
            f"names {context / dockerfile}, which does not exist",
            "point `build.context`/`build.dockerfile` at the deployer's Dockerfile",
        )
    return context, dockerfile


def _secret_key(top: Fields, section: str, default_key: str | None) -> SecretKeySpec | None:
    """``ssh_key`` or ``known_hosts``: the Secret and key the harness fills."""
    fields = top.mapping(section, known=("secret", "key"))
    if not fields.data:
        return None
    key = fields.text("key", default_key, required=default_key is None)
    return SecretKeySpec(fields.text("secret", required=True), key)


def _verify(folder: Path, top: Fields, machines: tuple[MachineSpec, ...]) -> tuple[Path | None, str | None]:
    """The deployer's tests folder (None: it has none) and the machine they check by default."""
    verify = top.mapping("verify", known=("tests", "host"))
    tests = folder / verify.text("tests", "tests")
    host = verify.optional_text("host")
    if host is not None and host not in {m.name for m in machines}:
        raise verify.error(
            "host", f"names {host!r}, which is not in `machines`", f"use one of: {', '.join(m.name for m in machines)}"
        )
    return (tests if tests.is_dir() else None), host


def _nodes(top: Fields) -> tuple[Node, ...]:
    """``cluster.nodes``: name -> labels and taints (``key[=value]:Effect``, as ``kubectl taint`` writes them)."""
    cluster = top.mapping("cluster", known=("nodes",))
    if not cluster.data:
        return ()
    section = cluster.mapping("nodes", required=True)
    if not section.data:
        raise cluster.error("nodes", "is empty", "declare the nodes, e.g. `w1: {labels: {node-type: gpu}}`")
    nodes = []
    for name, _ in section.items():
        if not _NAME.match(name):
            raise section.error(name, "is not a usable node name", "use lower-case letters, digits and dashes")
        entry = section.mapping(name, known=("labels", "taints"))
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        labels.update(entry.string_map("labels"))
        taints = []
        for text in entry.string_list("taints", "write taints as `key=value:NoSchedule` or `key:NoExecute`"):
            key_value, _, effect = text.rpartition(":")
            key, _, value = key_value.partition("=")
            if not key or effect not in EFFECTS:
                raise entry.error(
                    "taints", f"holds {text!r}", f"write `key[=value]:Effect` with an effect of {', '.join(EFFECTS)}"
                )
            taints.append(Taint(key, effect, value))
        nodes.append(Node(name, labels, tuple(taints)))
    return tuple(nodes)


def _watch(top: Fields) -> WatchSpec:
    state = top.mapping("state", known=("paths", "exclude", "units", "exclude_units", "sysctl", "derive"))
    absolute = "give absolute paths, e.g. `/etc/nut`"
    paths = state.string_list("paths", absolute)
    exclude = state.string_list("exclude", absolute)
    for key, values in (("paths", paths), ("exclude", exclude)):
        for value in values:
            if not value.startswith("/"):
                raise state.error(key, f"holds {value!r}, which is not an absolute path", absolute)
    return WatchSpec(
        paths=tuple(p.rstrip("/") or "/" for p in paths),
        exclude=tuple(p.rstrip("/") or "/" for p in exclude),
        units=state.string_list("units", "name units in full, e.g. `nut-server.service`"),
        exclude_units=state.string_list("exclude_units", "give unit name patterns, e.g. `nut-driver@*.service`"),
        sysctl=state.string_list("sysctl", "name keys, e.g. `vm.swappiness`"),
        derive=state.flag("derive", True),
    )


def _findings(top: Fields) -> dict[str, str]:
    section = top.mapping("idempotency", known=FINDING_KINDS)
    return {kind: section.choice(kind, "warn", FINDING_POLICIES) for kind in FINDING_KINDS}


def _manifest_path(folder: Path, top: Fields) -> Path:
    """The manifest file, or a kustomization folder (named, named by its kustomization file, or `k8s/` itself)."""
    if top.has("manifest"):
        manifest = folder / top.text("manifest")
        if manifest.name in FILE_NAMES and manifest.is_file():
            return manifest.parent
        if manifest.is_dir() and find_file(manifest) is None:
            raise top.error("manifest", f"names the folder {manifest}, which holds no kustomization.yaml",
                            "name the manifest file, or a kustomization folder")  # fmt: skip
        if not manifest.exists():
            raise top.error("manifest", f"names {manifest}, which does not exist", "give the path of the Job manifest")
        return manifest
    if find_file(folder / "k8s") is not None:
        return folder / "k8s"
    found = sorted((folder / "k8s").glob("*.y*ml")) if (folder / "k8s").is_dir() else []
    if len(found) != 1:
        raise top.error(
            "manifest", "is required (no single manifest in k8s/ to guess from)", "add `manifest: k8s/job.yaml`"
        )
    return found[0]


def _machines(top: Fields, kinds: list[str]) -> tuple[MachineSpec, ...]:
    section = top.mapping("machines", required=True)
    if not section.data:
        raise top.error("machines", "is empty", "declare at least one machine, e.g. `pve1: {kind: pve-8}`")
    result = []
    seen_addresses: dict[str, str] = {}
    for name, _ in section.items():
        if not _NAME.match(name):
            raise section.error(
                name, "is not a usable machine name", "use lower-case letters, digits and dashes, e.g. `pve1`"
            )
        entry = section.mapping(name, known=("kind", "hostname", "address", "aliases", "setup", "vms"))
        kind = entry.text("kind", required=True, fix=f"use one of: {', '.join(kinds)}")
        if kind not in kinds:
            raise entry.error("kind", f"is {kind!r}, which is not a machine kind", f"use one of: {', '.join(kinds)}")
        address = entry.optional_text("address")
        if address is not None:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise entry.error(
                    "address",
                    f"is {address!r}, not an IP address",
                    "give the address the manifest uses; host names go in `aliases`",
                ) from None
            if address in seen_addresses:
                raise entry.error(
                    "address",
                    f"is also the address of {seen_addresses[address]!r}",
                    "give each machine the address the manifest uses for it",
                )
            seen_addresses[address] = name
        aliases = entry.data.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise entry.error("aliases", "must be a list of host names", f"e.g. `aliases: [{name}.example.org]`")
        hostname = entry.text("hostname", name)
        if not _HOSTNAME.match(hostname):
            raise entry.error("hostname", f"is {hostname!r}, not a host name", "use letters, digits, dots and dashes")
        setup = machine_setup(entry)
        setup = replace(setup, files=(*vm_files(entry, kind), *setup.files))  # the VMs first: setup may edit them
        result.append(MachineSpec(name, kind, hostname, address, tuple(aliases), setup))
    if any(m.setup.packages for m in result) and not top.flag("mirror", False):
        raise top.error(
            "mirror",
            "is off, and a machine's `setup.packages` needs the run's Debian mirror (the test network has no way out)",
            "add `mirror: true`",
        )
    return tuple(result)


def _named_maps(top: Fields, key: str) -> dict[str, dict[str, str]]:
    section = top.mapping(key)
    return {name: section.string_map(name) for name, _ in section.items()}
