"""Drift, derived from a converged snapshot: every way a hand on the host can change what the deployer manages.

For each managed file: edit its content, delete it, change its mode, change its owner. For each symlink:
replace it with a regular file (systemd's enablement links excepted: disabling their unit covers them).
For each unit: stop it, disable it. For each entry of a managed crontab: remove it. Each mutation is one
shell command, run as root on the host.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from harness.deployer.sections import CustomMutation
from harness.state.model import Snapshot

MARK = "drift injected by deployer-harness"
# systemd's enablement links: the units' own `disable` mutation covers them.
_ENABLEMENT_LINKS = (
    "/etc/systemd/system/*.wants/*",
    "/etc/systemd/system/*.requires/*",
    "/etc/systemd/system/*.upholds/*",
)
_CRON_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")  # SHELL=/bin/bash: a setting, not a job


@dataclass(frozen=True)
class Mutation:
    machine: str
    kind: str  # edit, delete, chmod, chown, replace-symlink, stop, disable, remove-cron, or custom
    item: str  # a path, a unit, a crontab, or the custom mutation's name
    script: str  # run as root on the machine
    names: tuple[str, ...]  # the drift check names the mutation when its output holds one of these
    detail: str = ""  # what exactly changed (the new mode, the removed entry)
    short_names: tuple[str, ...] = ()  # other forms of a name (a service without `.service`): see named_in

    @property
    def id(self) -> str:
        """``<kind> <item>``, what ``drift.exclude`` patterns match; a removed cron entry is part of it."""
        return f"{self.kind} {self.item}" + (f" {self.detail}" if self.kind == "remove-cron" else "")

    def named_in(self, output: str, vocabulary: str = "") -> bool:
        """One of the names, whole: `/etc/cron.d/x` is not named by `/etc/cron.d/x-report`. A short name counts
        too, unless it is a plain word the check also says when nothing drifted (its ``vocabulary``): a check
        whose every line says "drift" does not name drift.service by saying "drift found"."""
        return self.fully_named_in(output) or bool(self.short_name_lines(output, vocabulary))

    def fully_named_in(self, output: str) -> bool:
        return any(_holds(output, name) for name in self.names)

    def short_name_lines(self, output: str, vocabulary: str = "") -> list[str]:
        """The lines of ``output`` that hold one of the short names (see :meth:`named_in`)."""
        names = [n for n in self.short_names if not (n.isalpha() and _holds(vocabulary, n, fold=True))]
        return [line for line in output.splitlines() if any(_holds(line, n, fold=True) for n in names)]


def _holds(text: str, name: str, *, fold: bool = False) -> bool:
    """The name, whole (not inside a longer name or path); ``fold``: in any case."""
    pattern = rf"(?<![\w./@-]){re.escape(name)}(?![\w/@-]|\.\w)"
    return re.search(pattern, text, re.IGNORECASE if fold else 0) is not None


def derive_mutations(snapshot: Snapshot) -> list[Mutation]:
    """The mutations of one machine's managed files, units and crontabs, in a stable order."""
    return [*_files(snapshot), *_units(snapshot), *_cron(snapshot)]


def custom_mutations(custom: Iterable[CustomMutation], machines: Iterable[str]) -> list[Mutation]:
    return [
        Mutation(machine, "custom", entry.name, entry.run, entry.names)
        for entry in custom
        for machine in machines
        if entry.machine in (None, machine)
    ]


def excluded(mutation: Mutation, patterns: Iterable[str]) -> bool:
    """Spec patterns match ``<kind> <item>`` (``chmod /etc/nut/*``, ``* /root/.profile``)."""
    return any(fnmatch.fnmatchcase(mutation.id, pattern) for pattern in patterns)


def _files(snapshot: Snapshot) -> Iterable[Mutation]:
    machine, q = snapshot.machine, shlex.quote
    for path, state in sorted(snapshot.files.items()):
        names = (path,)
        if state.type == "file":
            mode = "600" if state.mode != "600" else "644"
            owner = "nobody" if state.owner != "nobody" else "root"
            yield Mutation(machine, "edit", path, f"printf '\\n# %s\\n' {q(MARK)} >> {q(path)}", names, "a line added")
            yield Mutation(machine, "delete", path, f"rm -f -- {q(path)}", names)
            yield Mutation(machine, "chmod", path, f"chmod {mode} -- {q(path)}", names, f"mode {state.mode} -> {mode}")
            yield Mutation(
                machine, "chown", path, f"chown {owner} -- {q(path)}", names, f"owner {state.owner} -> {owner}"
            )
        elif state.type == "symlink" and not any(fnmatch.fnmatchcase(path, p) for p in _ENABLEMENT_LINKS):
            script = f"rm -f -- {q(path)} && printf '%s\\n' {q(MARK)} > {q(path)}"
            yield Mutation(machine, "replace-symlink", path, script, names, f"was a link to {state.target}")


def _units(snapshot: Snapshot) -> Iterable[Mutation]:
    machine = snapshot.machine
    for name, unit in sorted(snapshot.units.items()):
        names, short = (name,), short_unit_names(name)
        if unit.active == "active":
            yield Mutation(machine, "stop", name, f"systemctl stop -- {shlex.quote(name)}", names, "", short)
        if unit.enabled == "enabled":
            script = f"systemctl disable --quiet -- {shlex.quote(name)}"
            yield Mutation(machine, "disable", name, script, names, "", short)


def short_unit_names(unit: str) -> tuple[str, ...]:
    """The other form systemctl reads as this unit: a service's name without ``.service`` (systemd appends it to
    a name without a suffix). Nothing looser: ``nut-driver`` is not ``nut-driver.target``."""
    base, dot, suffix = unit.rpartition(".")
    return (base,) if dot and suffix == "service" and base and not base.endswith("@") else ()


def _cron(snapshot: Snapshot) -> Iterable[Mutation]:
    """Entries of the crontabs the deployer manages (those among the watched files); settings are left alone."""
    machine = snapshot.machine
    for source, entries in sorted(snapshot.cron.items()):
        if source not in snapshot.files:
            continue
        for entry in dict.fromkeys(e for e in entries if not _CRON_VARIABLE.match(e)):
            yield Mutation(machine, "remove-cron", source, _remove_line(source, entry), (source, entry), entry)


def _remove_line(path: str, entry: str) -> str:
    """Remove the first line that reads as ``entry`` once its fields are squeezed (as snapshots compare cron),
    a CRLF line ending ignored."""
    q = shlex.quote
    program = 'BEGIN { entry = ENVIRON["ENTRY"] } '
    program += '{ line = $0; sub(/\r$/, ""); $1 = $1; if (!done && $0 == entry) { done = 1; next } print line }'
    program += " END { exit !done }"  # not found: the mutation fails, rather than change nothing
    temporary = q(f"{path}.deployer-harness")
    # ENVIRON, not -v: awk would read backslashes in the entry as escapes. Written back through the
    # same file, so its inode, mode and owner stay.
    awk = f"ENTRY={q(entry)} awk {q(program)} {q(path)} > {temporary}"
    return f"{awk} && cat {temporary} > {q(path)}; status=$?; rm -f {temporary}; exit $status"


def spread(mutations: list[Mutation]) -> list[Mutation]:
    """The same DaemonSet configures every node it targets alike: each distinct mutation is made once, on one of
    the nodes that have it, taking the nodes in turn, so every node is mutated and none twice the same way."""
    nodes: dict[str, list[Mutation]] = {}
    for mutation in mutations:
        nodes.setdefault(mutation.id, []).append(mutation)
    return [found[index % len(found)] for index, found in enumerate(nodes.values())]
