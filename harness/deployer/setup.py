"""A machine's ``setup``: the host as it really is before the deployer's first apply, declared in the spec rather
than as a machine kind of its own.

    machines:
      pve1:
        kind: pve-8
        setup:
          directories: [/opt/legacy-nut]                  # an earlier manual install left these
          files:
            /etc/nut/notes.txt: "installed by hand in 2023\n"
            /opt/legacy-nut/run.sh: {content: "#!/bin/sh\n", mode: "0755", owner: root:root}
          packages: [jq]                                  # from the run's Debian mirror (`mirror: true`)
          commands: ["useradd --system nutadmin"]         # run in order, before the first apply
          real: [udevadm]                                 # the real command where the kind has a stub
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.yaml_fields import Fields

_MODE = re.compile(r"^0?[0-7]{3,4}$")
_OWNER = re.compile(r"^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$")
_NAME = re.compile(r"^[a-z][a-z0-9+._-]*$")


@dataclass(frozen=True)
class SetupFile:
    path: str
    content: str
    mode: int = 0o644
    owner: str = "root:root"


@dataclass(frozen=True)
class MachineSetup:
    directories: tuple[str, ...] = ()
    files: tuple[SetupFile, ...] = ()
    packages: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    real: tuple[str, ...] = ()  # stubbed commands made real again

    def __bool__(self) -> bool:
        return bool(self.directories or self.files or self.packages or self.commands or self.real)


def machine_setup(entry: Fields) -> MachineSetup:
    section = entry.mapping("setup", known=("directories", "files", "packages", "commands", "real"))
    absolute = "give absolute paths, e.g. `/opt/legacy`"
    directories = section.string_list("directories", absolute)
    for directory in directories:
        if not directory.startswith("/"):
            raise section.error("directories", f"holds {directory!r}, not an absolute path", absolute)
    packages = section.string_list("packages", "name Debian packages, e.g. `[jq, curl]`")
    real = section.string_list("real", "name stubbed commands, e.g. `[udevadm]`")
    for name in (*packages, *real):
        if not _NAME.match(name):
            raise section.error("packages" if name in packages else "real", f"holds {name!r}", "use plain names")
    return MachineSetup(
        directories=directories,
        files=_files(section),
        packages=packages,
        commands=section.string_list("commands", "write each command as one string"),
        real=real,
    )


def _files(section: Fields) -> tuple[SetupFile, ...]:
    files = section.mapping("files")
    found = []
    for path, value in files.items():
        if not path.startswith("/"):
            raise files.error(path, "is not an absolute path", "give the file's absolute path")
        if isinstance(value, str):
            found.append(SetupFile(path, value))
            continue
        entry = files.mapping(path, known=("content", "mode", "owner"))
        if entry.has("mode") and not isinstance(entry.data["mode"], str):  # YAML reads 0644 as the number 420
            raise entry.error(
                "mode", f"is {entry.data['mode']!r}, a number", 'quote an octal mode, e.g. `mode: "0755"`'
            )
        mode = entry.text("mode", "0644")
        if not _MODE.match(mode):
            raise entry.error("mode", f"is {mode!r}", 'quote an octal mode, e.g. `mode: "0755"`')
        owner = entry.text("owner", "root:root")
        if not _OWNER.match(owner):
            raise entry.error("owner", f"is {owner!r}", "write `user` or `user:group`")
        found.append(SetupFile(path, entry.text("content", required=True), int(mode, 8), owner))
    return tuple(found)
