"""What a simulated node needs to run one pod: its files, and the script that sets up its namespaces and mounts.

The script does what the kubelet and containerd do on a real node, with the
kernel deciding the rest: ``unshare`` for the namespaces the pod does not share
with the node (PID unless hostPID, network and UTS unless hostNetwork, IPC
unless hostIPC), a fresh procfs, the node's own view of ``/proc/sys`` over it,
hostPath volumes as recursive binds (``/`` at ``/host`` gives the node's whole
mount tree), secret and configMap volumes read-only, then ``chroot`` into the
overlay of the pod image.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.engine.archive import Entry
from harness.errors import HarnessError
from harness.k8s.addresses import AddressMap
from harness.k8s.expand import expand
from harness.k8s.pod import Container, PodSpec
from harness.k8s.pod_env import Sources, container_env, volume_files
from harness.world.trust import BUNDLE, CERTS, LOCAL_CA

PODS_DIR = "/var/lib/harness/pods"
RUNNER = "/usr/local/lib/harness/harness-pod"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # containerd's, for images without one
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
# What containerd grants a container that is not privileged (the rest of root's capabilities are dropped).
DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
    "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)  # fmt: skip


@dataclass(frozen=True)
class ImageConfig:
    """What ``docker image inspect`` says about how to start the image."""

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""  # USER: a name or id, with an optional :group


@dataclass(frozen=True)
class PodPlan:
    name: str
    node: str
    directory: str
    files: list[Entry]  # absolute paths inside the node
    argv: tuple[str, ...]  # what runs in the container, after env and command resolution
    env: dict[str, str]


def plan_pod(
    pod: PodSpec,
    name: str,
    node: str,
    image_dir: str,
    image: ImageConfig,
    sources: Sources,
    addresses: AddressMap,
    backoff: tuple[int, int, int],
) -> PodPlan:
    if len(pod.containers) != 1 or pod.init_containers:
        raise HarnessError(
            "the simulated cluster runs pods of one container without init containers",
            where=sources.spec_path,
            fix="keep the DaemonSet's pod to one container",
        )
    container = pod.containers[0]
    security = container.security
    user = str(security.run_as_user) if security.run_as_user is not None else image.user.partition(":")[0]
    if security.run_as_non_root and user in ("", "0", "root"):
        raise HarnessError(  # the kubelet's own refusal: the pod stays in CreateContainerConfigError
            f"pod {name} on {node}: CreateContainerConfigError: container has runAsNonRoot and image will run as root",
            where=sources.spec_path,
            fix="set `securityContext.runAsUser` to a non-zero id, or a non-root USER in the image",
        )
    directory = f"{PODS_DIR}/{name}"
    env = {"PATH": DEFAULT_PATH, **_image_env(image), **container_env(container, sources, addresses)}
    argv = _argv(container, image, env, addresses)
    if not argv:
        raise HarnessError(f"container {container.name!r} has no command and its image no ENTRYPOINT or CMD")
    files = [
        Entry(directory, None, 0o700),
        Entry(f"{directory}/pod.conf", _conf(image_dir, backoff).encode(), 0o600),
        Entry(f"{directory}/start.sh", _start(pod).encode(), 0o700),
        Entry(f"{directory}/inner.sh", _inner(pod, container, name, directory, image, env, argv).encode(), 0o700),
    ]
    for volume in pod.volumes:
        if volume.kind in ("secret", "configMap"):
            base = f"{directory}/volumes/{volume.name}"
            files.append(Entry(base, None, 0o755))
            files += [Entry(f"{base}/{e.path}", e.content, e.mode) for e in volume_files(volume, sources, addresses)]
        elif volume.kind == "emptyDir":
            files.append(Entry(f"{directory}/empty/{volume.name}", None, 0o777))
        elif volume.kind != "hostPath":
            raise HarnessError(
                f"volume {volume.name!r} is a {volume.kind} volume, which the simulated cluster cannot mount",
                where=sources.spec_path,
                fix="use hostPath, secret, configMap or emptyDir volumes",
            )
    return PodPlan(name, node, directory, files, argv, env)


def _image_env(image: ImageConfig) -> dict[str, str]:
    return dict(item.split("=", 1) for item in image.env if "=" in item)


def _argv(container: Container, image: ImageConfig, env: dict[str, str], addresses: AddressMap) -> tuple[str, ...]:
    def resolve(words: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(addresses.apply(expand(w, env)) for w in words)

    # Kubernetes: command replaces ENTRYPOINT and drops CMD; args alone replace CMD. Empty lists count as unset.
    if container.command:
        return resolve(container.command) + resolve(container.args or ())
    args = resolve(container.args) if container.args else image.cmd
    return image.entrypoint + args


def _conf(image_dir: str, backoff: tuple[int, int, int]) -> str:
    first, most, reset = backoff
    return f"IMAGE={shlex.quote(image_dir)}\nBACKOFF={first}\nBACKOFF_MAX={most}\nRESET_AFTER={reset}\n"


def _start(pod: PodSpec) -> str:
    flags = ["--mount", "--propagation", "private"]
    if not pod.host_pid:
        flags += ["--pid", "--fork"]
    if not pod.host_network:
        flags += ["--net", "--uts"]
    if not pod.raw.get("hostIPC", False):
        flags += ["--ipc"]
    return f'#!/bin/sh\nexec unshare {" ".join(flags)} sh -e "$(dirname "$0")/inner.sh"\n'


def _inner(
    pod: PodSpec,
    container: Container,
    name: str,
    directory: str,
    image: ImageConfig,
    env: dict[str, str],
    argv: tuple[str, ...],
) -> str:
    root = f"{directory}/rootfs"
    lines = [
        f"# pod {name}: namespaces are made by start.sh; these are its mounts, then its process",
        f"R={shlex.quote(root)}",
        *_system_mounts(pod, container, name, directory),
        *_volume_mounts(pod, container, directory),
    ]
    if container.security.read_only_root_filesystem:
        lines.append('mount -o remount,ro "$R"')
    lines.append(_entry(container, image, env, argv))
    return "\n".join(lines) + "\n"


def _system_mounts(pod: PodSpec, container: Container, name: str, directory: str) -> list[str]:
    """/proc, /dev, /sys, resolv.conf, hosts and hostname, as the runtime gives a container."""
    q = shlex.quote
    lines = [
        # The container's PID as the node sees it (the node's procfs answers): probes enter through it.
        f"cut -d' ' -f4 /proc/self/stat > {q(directory)}/pid",
        'mount -t proc proc "$R/proc"',
        "mount --bind /proc/sys \"$R/proc/sys\"  # the node's own view: a pod never reaches the real kernel's keys",
    ]
    if container.security.privileged:
        lines += ['mount --rbind /dev "$R/dev"', 'mount --rbind /sys "$R/sys"']
    else:
        lines += ['mount -o remount,bind,ro "$R/proc/sys"']  # as containerd mounts it for unprivileged containers
        lines += ['mount -t tmpfs -o mode=0755,nosuid pod-dev "$R/dev"']
        lines += [f'touch "$R/dev/{d}" && mount --bind /dev/{d} "$R/dev/{d}"' for d in _DEVICES]
        lines += [
            'mkdir -p "$R/dev/pts" "$R/dev/shm" && mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"',
            'mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm" && ln -s pts/ptmx "$R/dev/ptmx"',
            'ln -s /proc/self/fd "$R/dev/fd" && ln -s /proc/self/fd/0 "$R/dev/stdin"',
            'ln -s /proc/self/fd/1 "$R/dev/stdout" && ln -s /proc/self/fd/2 "$R/dev/stderr"',
            'mount --rbind /sys "$R/sys" && mount -o remount,bind,ro "$R/sys"',
        ]
    for source in ("/etc/resolv.conf",):
        lines.append(f'touch "$R{source}" && mount --bind {source} "$R{source}"')
    # The world's CA, where the node trusts it: the pod's image trusts it too (in its fresh writable layer; never
    # through a link, which could point at the node's own file), in the bundle and under its hash.
    lines.append(
        f'[ -f {LOCAL_CA} ] && [ ! -L "$R{BUNDLE}" ] && mkdir -p "$R{CERTS}" && cat {LOCAL_CA} >> "$R{BUNDLE}" '
        f'&& cp {LOCAL_CA} "$R{CERTS}/$(openssl x509 -noout -subject_hash -in {LOCAL_CA} 2>/dev/null || echo world).0"'
    )
    if pod.host_network:
        lines += ['touch "$R/etc/hosts" "$R/etc/hostname"', 'mount --bind /etc/hosts "$R/etc/hosts"']
        lines += ['mount --bind /etc/hostname "$R/etc/hostname"']
    else:
        lines += [f"hostname {q(name[:63])}", "ip link set lo up 2>/dev/null || true"]
        hosts = f"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{name}\n"
        lines += [f'printf %s {q(hosts)} > "$R/etc/hosts"', f'printf "%s\\n" {q(name)} > "$R/etc/hostname"']
    return lines


def _volume_mounts(pod: PodSpec, container: Container, directory: str) -> list[str]:
    """The container's volumeMounts: hostPath, emptyDir, and the read-only secret and configMap volumes."""
    q = shlex.quote
    lines = []
    for mount in container.volume_mounts:
        volume = pod.volume(mount.name)
        target = '"$R"' + q(str(PurePosixPath("/") / mount.mount_path))
        if volume.kind == "hostPath":
            source = q(str(PurePosixPath(volume.source) / mount.sub_path) if mount.sub_path else volume.source)
            kind = volume.host_path_type
            if kind == "DirectoryOrCreate" or (kind == "" and not mount.sub_path):
                lines.append(f"[ -e {source} ] || mkdir -p {source}")  # the kubelet makes a missing path a directory
            elif kind == "FileOrCreate":
                lines.append(f'[ -e {source} ] || {{ mkdir -p "$(dirname {source})" && touch {source}; }}')
            # The mount point takes the source's type: a directory, or a file for anything else.
            lines.append(
                f'if [ -d {source} ]; then mkdir -p {target}; else mkdir -p "$(dirname {target})" && touch {target}; fi'
            )
            lines.append(f"mount --rbind {source} {target}")
        elif volume.kind == "emptyDir":
            source = f"{q(directory)}/empty/{q(volume.name)}" + (f"/{q(mount.sub_path)}" if mount.sub_path else "")
            lines += [f"mkdir -p {source} {target}", f"mount --bind {source} {target}"]
        else:
            source = f"{q(directory)}/volumes/{q(volume.name)}"
            if mount.sub_path:
                source = f"{source}/{q(mount.sub_path)}"
                lines.append(f'mkdir -p "$(dirname {target})" && touch {target}')
            else:
                lines.append(f"mkdir -p {target}")
            lines.append(f"mount --bind {source} {target}")
            lines.append(f"mount -o remount,bind,ro {target}")  # the kubelet mounts them read-only
        if mount.read_only and volume.kind in ("hostPath", "emptyDir"):
            lines.append(f"mount -o remount,bind,ro {target}")
    return lines


def _entry(container: Container, image: ImageConfig, env: dict[str, str], argv: tuple[str, ...]) -> str:
    """The container's process: its env only, its user, its working directory, its capabilities."""
    q = shlex.quote
    assignments = " ".join(q(f"{k}={v}") for k, v in env.items())
    security = container.security
    user = str(security.run_as_user) if security.run_as_user is not None else image.user.partition(":")[0]
    group = str(security.run_as_group) if security.run_as_group is not None else image.user.partition(":")[2] or user
    userspec = f"--userspec={q(user)}:{q(group)} " if user else ""
    workdir = container.working_dir or image.working_dir or "/"
    # The node's own env and chroot, by path: the pod's PATH is for the container's commands.
    enter = f'/usr/bin/env -i {assignments} /usr/sbin/chroot {userspec}"$R"'
    if workdir != "/":
        enter += f' /bin/sh -c \'mkdir -p "$0" 2>/dev/null; cd "$0" && exec "$@"\' {q(workdir)}'
    if not security.privileged:
        bounding = _bounding_set(security.add_capabilities, security.drop_capabilities)
        enter = f"/usr/bin/setpriv --bounding-set {bounding} {enter}"
    return f"exec {enter} {' '.join(q(a) for a in argv)}"


def _bounding_set(add: tuple[str, ...], drop: tuple[str, ...]) -> str:
    """containerd's default capabilities with the container's add and drop (``ALL`` drops every one)."""
    names = {c.upper().removeprefix("CAP_") for c in DEFAULT_CAPABILITIES + add}
    dropped = {c.upper().removeprefix("CAP_") for c in drop}
    names = set() if "ALL" in dropped else names - dropped
    names.add("SYS_CHROOT")  # chroot itself needs it, after setpriv: kept even when the pod drops it
    return ",".join(["-all", *(f"+{n.lower()}" for n in sorted(names))])
