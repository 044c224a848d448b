"""The spec's ``drift:`` and ``rollback:`` sections: how to run the drift check, where the previous version is.

drift:
  manifest: k8s/drift-check.yaml    # a CronJob (or Job) that runs the deployer's drift check, as in production
  container: check                  # its container that runs the deployer's image (default: the only one)
  command: [/app/check-drift.sh]    # instead of `manifest`: the deployer's own Job, with this command
  mutations:                        # beyond those derived from the converged host: a shell command on a host
    - {name: ups-conf-emptied, machine: pve1, run: "truncate -s0 /etc/nut/ups.conf", names: [/etc/nut/ups.conf]}
  exclude: ["chown /opt/pve-nut/log", "* /root/.profile"]   # `<kind> <item>` patterns of derived mutations
  heal: loop                        # DaemonSets: wait for the pods to repair it (default), or `apply` again
  heal_seconds: 60                  # how long the pods may take
  unnamed: warn                     # DaemonSets whose logs are the check: a repair the log does not name warns
                                    # (the verdict is the healing), or `fail`s
rollback:
  ref: v1.2.0                       # the previous version (default: the version before the current one in git)
  image: registry.example.com/pve-nut-deployer:1.2.0        # or a prebuilt local image
  stamp: /opt/pve-nut/.version      # where the deployer records its version on the host
  allow: [/etc/cron.d/pve-nut-report]                       # known leftovers (item patterns): warnings
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.yaml_fields import Fields

_MUTATION_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


@dataclass(frozen=True)
class CustomMutation:
    name: str
    machine: str | None  # None: every machine
    run: str  # a shell command, run as root on the host
    names: tuple[str, ...]  # what the drift check's output must name (default: the mutation's name)


@dataclass(frozen=True)
class DriftSpec:
    manifest: Path | None = None
    container: str | None = None
    command: tuple[str, ...] | None = None
    mutations: tuple[CustomMutation, ...] = ()
    exclude: tuple[str, ...] = ()
    heal: str = "apply"  # apply, or (DaemonSets) loop: wait for the pods to repair it themselves
    heal_seconds: float = 60.0  # how long a loop may take to repair one mutation
    unnamed: str = "warn"  # a loop's repair its log does not name: warn or fail

    @property
    def has_check(self) -> bool:
        return self.manifest is not None or self.command is not None


@dataclass(frozen=True)
class RollbackSpec:
    ref: str | None = None
    image: str | None = None
    stamp: str | None = None
    allow: tuple[str, ...] = ()


def drift_spec(folder: Path, top: Fields, machines: tuple[str, ...], daemonset: bool) -> DriftSpec:
    known = ("manifest", "container", "command", "mutations", "exclude", "heal", "heal_seconds", "unnamed")
    section = top.mapping("drift", known=known)
    heal = _heal(section, daemonset)
    if daemonset and section.has("manifest"):
        raise section.error(
            "manifest",
            "is for Job deployers; a DaemonSet's check runs in its pods",
            "give `drift.command`, run in the pod on the mutated node as `kubectl exec` would",
        )
    if section.has("manifest") and section.has("command"):
        raise section.error("command", "and `manifest` are both given", "run the check one way: keep one of them")
    manifest = None
    if section.has("manifest"):
        manifest = folder / section.text("manifest")
        if not manifest.is_file():
            raise section.error(
                "manifest", f"names {manifest}, which does not exist", "give the CronJob or Job that runs the check"
            )
    command = None
    if section.has("command"):
        command = section.string_list("command", "write the command as a list, e.g. `[/app/check-drift.sh]`")
        if not command:
            raise section.error("command", "is empty", "write the command as a list, e.g. `[/app/check-drift.sh]`")
    return DriftSpec(
        manifest=manifest,
        container=section.optional_text("container"),
        command=command,
        mutations=_custom_mutations(section, machines),
        exclude=section.string_list("exclude", "write `<kind> <item>` patterns, e.g. `chmod /etc/nut/*`"),
        heal=heal,
        heal_seconds=section.number("heal_seconds", 60.0, minimum=1),
        unnamed=section.choice("unnamed", "warn", ("warn", "fail")),
    )


def _heal(section: Fields, daemonset: bool) -> str:
    """How drift heals (a new apply, or a DaemonSet's loop), and whether `unnamed` fits it."""
    if daemonset and section.has("unnamed") and (section.has("command") or section.text("heal", "loop") == "apply"):
        fix = "`unnamed` is for pods whose own logs are the check: drop it, or drop `command` and `heal: apply`"
        raise section.error("unnamed", "is given with a check command or `heal: apply`, which must name the item", fix)
    if not daemonset and section.has("unnamed"):
        raise section.error(
            "unnamed",
            "is for DaemonSets, whose pods' logs are their check",
            "a Job's drift check must name it: drop it",
        )
    if not daemonset and section.text("heal", "apply") == "loop":
        raise section.error("heal", "is `loop`, and a Job deployer does not loop", "a new apply heals it: drop `heal`")
    return section.choice("heal", "loop" if daemonset else "apply", ("apply", "loop"))


def _custom_mutations(section: Fields, machines: tuple[str, ...]) -> tuple[CustomMutation, ...]:
    """``drift.mutations``: a shell command on a host each, and what the check must name."""
    mutations = []
    raw = section.data.get("mutations") or []
    if not isinstance(raw, list):
        raise section.error("mutations", "must be a list", "e.g. `- {name: wipe-conf, run: 'truncate -s0 /etc/x'}`")
    for index, entry in enumerate(raw):
        item = Fields(
            section.path, entry, section.field_name(f"mutations[{index}]"), known=("name", "machine", "run", "names")
        )
        name = item.text("name", required=True)
        if not _MUTATION_NAME.match(name):
            raise item.error("name", f"is {name!r}", "use lower-case letters, digits, dots and dashes")
        machine = item.optional_text("machine")
        if machine is not None and machine not in machines:
            raise item.error(
                "machine", f"names {machine!r}, which is not a machine", f"use one of: {', '.join(machines)}"
            )
        run = item.text("run", required=True, fix="give the shell command that makes the drift")
        names = item.string_list("names", "list what the drift check must name, e.g. `[/etc/nut/ups.conf]`")
        mutations.append(CustomMutation(name, machine, run, names or (name,)))
    return tuple(mutations)


def rollback_spec(top: Fields) -> RollbackSpec:
    section = top.mapping("rollback", known=("ref", "image", "stamp", "allow"))
    if section.has("ref") and section.has("image"):
        raise section.error("image", "and `ref` are both given", "name the previous version one way")
    stamp = section.optional_text("stamp")
    if stamp is not None and not stamp.startswith("/"):
        raise section.error("stamp", f"is {stamp!r}, not an absolute path", "e.g. `/opt/pve-nut/.version`")
    return RollbackSpec(
        ref=section.optional_text("ref"),
        image=section.optional_text("image"),
        stamp=stamp,
        allow=section.string_list("allow", "list item patterns, e.g. `/etc/cron.d/old-*`"),
    )


@dataclass(frozen=True)
class GitOpsSpec:
    """``gitops:``: the tags CI gives each commit's image (templates: ``{sha}``, ``{sha_long}``, ``{branch}``,
    ``{timestamp}``; default: read from the workflows' docker/metadata-action steps), and folders beside the
    deployer's own that hold its Flux objects (a cluster's folder in the same repository)."""

    tags: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()


def gitops_spec(top: Fields, folder: Path) -> GitOpsSpec:
    section = top.mapping("gitops", known=("tags", "paths"))
    paths = []
    for index, entry in enumerate(section.string_list("paths", "list folders, e.g. `[../../clusters/prod]`")):
        path = (folder / entry).resolve()
        if not path.is_dir():
            raise section.error(f"paths[{index}]", f"names {path}, which is not a folder", "give a folder's path")
        paths.append(path)
    return GitOpsSpec(section.string_list("tags", 'e.g. `["main-{sha}-{timestamp}"]`'), tuple(paths))
