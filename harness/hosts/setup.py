"""A machine made into the host the spec says it really is, before the first apply (and before the pristine scan,
so none of it is taken for the deployer's doing): directories, files, packages, stubs made real, commands."""

from __future__ import annotations

import shlex

from harness.deployer.setup import MachineSetup
from harness.engine.archive import Entry, put_files
from harness.errors import HarnessError
from harness.hosts.machine import Machine


def prepare(machine: Machine, setup: MachineSetup, spec_path: str) -> None:
    if not setup:
        return
    if setup.files:
        put_files(machine.container, [Entry(f.path, f.content.encode(), f.mode) for f in setup.files])
    steps = [f"mkdir -p -- {shlex.quote(d)}" for d in setup.directories]
    steps += [f"chown {shlex.quote(f.owner)} -- {shlex.quote(f.path)}" for f in setup.files]
    if setup.packages:
        names = " ".join(shlex.quote(p) for p in setup.packages)
        steps.append(f"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {names} >&2")
    steps += [_make_real(name) for name in setup.real]
    for index, step in enumerate([*steps, *setup.commands]):
        code, out, err = machine.run_script(f"set -e\n{step}\n")
        if code != 0:
            what = f"setup command {index - len(steps) + 1}" if index >= len(steps) else "setup"
            output = (err or out).decode(errors="replace").strip()[-2000:]
            raise HarnessError(
                f"{machine.name}: {what} failed (exit {code}): {step}\n{output}",
                where=spec_path,
                fix=f"correct `machines.{machine.name}.setup`, or try it in the machine: {machine.shell_hint()}",
            )


def _make_real(name: str) -> str:
    """The real command where the machine kind put its stub: the diversions undone, the stub's link removed."""
    quoted = shlex.quote(name)
    return f"""found=
for path in $(dpkg-divert --list "*/{quoted}" | sed -n 's/^local diversion of \\(.*\\) to .*/\\1/p'); do
    rm -f -- "$path" && dpkg-divert --local --rename --remove "$path" >&2 && found=1
done
if [ "$(readlink /usr/local/sbin/{quoted} 2>/dev/null)" = harness-stub ]; then
    rm -f /usr/local/sbin/{quoted} && found=1
fi
[ -n "$found" ] || {{ echo "this machine has no stub for {quoted}: it runs the real one already" >&2; exit 3; }}"""
