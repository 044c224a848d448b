"""A Proxmox machine's ``vms``: virtual machines present before the deployer's first apply, as their configurations
in /etc/pve/qemu-server (the pve-8 kind's ``qm`` reads and changes them there).

    machines:
      pve1:
        kind: pve-8
        vms:
          108: {name: frigate, memory: 4096, cores: 4}   # /etc/pve/qemu-server/108.conf, its keys sorted
"""

from __future__ import annotations

import re

from harness.deployer.setup import SetupFile
from harness.yaml_fields import Fields

PROXMOX_KINDS = ("pve-8",)
_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
MIN_VMID, MAX_VMID = 100, 999_999_999  # as PVE allows them


def vm_files(entry: Fields, kind: str) -> tuple[SetupFile, ...]:
    """Each VM's configuration file, as pmxcfs shows it (root:www-data, 0640)."""
    if not entry.has("vms"):
        return ()
    if kind not in PROXMOX_KINDS:
        raise entry.error("vms", f"goes with a Proxmox machine, and this one is {kind!r}", "give it `kind: pve-8`")
    section = entry.mapping("vms")
    files = []
    for vmid in section.data:  # keys as text (Fields names numbers by their text)
        if not vmid.isdigit() or vmid.startswith("0") or not MIN_VMID <= int(vmid) <= MAX_VMID:
            raise section.error(vmid, "is not a VM ID", f"use a number from {MIN_VMID} to {MAX_VMID}, e.g. `108`")
        config = section.mapping(vmid)
        lines = []
        for key, setting in sorted(config.data.items()):
            if not _KEY.match(key):
                raise config.error(key, "is not a VM configuration key", "use qm's keys, e.g. `name`, `memory`")
            if isinstance(setting, bool):
                setting = int(setting)  # PVE writes booleans as 0 and 1
            if not isinstance(setting, (str, int)) or "\n" in str(setting):
                raise config.error(key, f"is {setting!r}", "give one line of text or a number, e.g. `name: frigate`")
            lines.append(f"{key}: {setting}\n")
        files.append(SetupFile(f"/etc/pve/qemu-server/{vmid}.conf", "".join(lines), 0o640, "root:www-data"))
    return tuple(files)
