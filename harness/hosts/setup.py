"""A machine made into the host the spec says it really is, before the first apply (and before the pristine scan,
so none of it is taken for the deployer's doing): directories, files, packages, stubs made real, commands, and
then the files' owners and modes (an owner may be one the packages or commands create)."""

from __future__ import annotations

import base64
import shlex

from harness.deployer.setup import MachineSetup, SetupFile
from harness.errors import HarnessError
from harness.hosts.machine import Machine


def prepare(machine: Machine, setup: MachineSetup, spec_path: str) -> None:
    if not setup:
        return
    steps: list[tuple[str, str]] = [
        (f"making directory {d}", f"mkdir -p -- {shlex.quote(d)}") for d in setup.directories
    ]
    steps += [(f"writing {f.path}", _write(f)) for f in setup.files]
    if setup.packages:
        names = " ".join(shlex.quote(p) for p in setup.packages)
        install = f"apt-get update -q && apt-get install -y -q --no-install-recommends {names} && apt-get clean"
        steps.append((f"installing {', '.join(setup.packages)}", f"export DEBIAN_FRONTEND=noninteractive\n{install}"))
    steps += [(f"making `{name}` real", _make_real(name)) for name in setup.real]
    steps += [(f"setup command {i}: {command}", command) for i, command in enumerate(setup.commands, 1)]
    steps += [(f"giving {f.path} to {f.owner}, mode {f.mode:o}", _own(f)) for f in setup.files]
    for what, script in steps:
        code, out, err = machine.run_script(f"set -e\n{script}\n")
        if code != 0:
            output = "\n".join(part.decode(errors="replace").strip() for part in (out, err) if part.strip())
            raise HarnessError(
                f"{machine.name}: {what} failed (exit {code})\n{output[-2000:]}",
                where=spec_path,
                fix=f"correct `machines.{machine.name}.setup`, or try it in the machine: {machine.shell_hint()}",
            )


def _write(file: SetupFile) -> str:
    """Through the machine's shell, not the engine: a path under one of its tmpfs mounts is written where it shows."""
    path = shlex.quote(file.path)
    encoded = base64.b64encode(file.content.encode()).decode()
    new = f"{path}.harness-new"
    return f'mkdir -p -- "$(dirname -- {path})"\necho {encoded} | base64 -d > {new}\nmv -f -- {new} {path}'


def _own(file: SetupFile) -> str:
    """The owner named must exist by now (the packages and commands ran); chmod last: chown clears setuid bits."""
    path, owner = shlex.quote(file.path), shlex.quote(file.owner)
    user, _, group = file.owner.partition(":")
    checks = [f"getent passwd {user} >/dev/null || {{ echo 'no user {user} on this machine' >&2; exit 1; }}"]
    if group:  # the names are checked at load: letters, digits, `_` and `-`
        checks.append(f"getent group {group} >/dev/null || {{ echo 'no group {group} on this machine' >&2; exit 1; }}")
    return "\n".join([*checks, f"chown {owner} -- {path}", f"chmod {file.mode:o} -- {path}"])


def _make_real(name: str) -> str:
    """The real command where the machine kind put its stub: the diversions undone, the stub's link removed."""
    quoted = shlex.quote(name)
    return f"""found=
for path in $(dpkg-divert --list "*/{quoted}" | sed -n 's/^local diversion of \\(.*\\) to .*/\\1/p'); do
    rm -f -- "$path" || exit 1
    dpkg-divert --local --rename --remove "$path" >&2 || exit 1
    found=1
done
if [ "$(readlink /usr/local/sbin/{quoted} 2>/dev/null)" = harness-stub ]; then
    rm -f /usr/local/sbin/{quoted} || exit 1
    found=1
fi
[ -n "$found" ] || {{ echo "this machine has no stub for {quoted}: it runs the real one already" >&2; exit 3; }}"""
