"""Pod templates: containers, env, envFrom and volumes, parsed with field paths in every error."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harness.k8s.scheduling import EFFECTS, OPERATORS, Placement, Requirement, Term, Toleration
from harness.yaml_fields import Fields

DEFAULT_VOLUME_MODE = 0o644  # Kubernetes' default for secret and configMap volumes


@dataclass(frozen=True)
class KeyRef:
    kind: str  # "secret", "configMap", or "field" (the Downward API: key is the fieldPath)
    name: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    ref: KeyRef | None = None


@dataclass(frozen=True)
class EnvFrom:
    kind: str  # "secret" or "configMap"
    name: str
    prefix: str = ""
    optional: bool = False


@dataclass(frozen=True)
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""


@dataclass(frozen=True)
class KeyToPath:
    key: str
    path: str
    mode: int | None = None


@dataclass(frozen=True)
class Volume:
    name: str
    kind: str  # "secret", "configMap", "emptyDir", "hostPath", or the unsupported kind's name
    source: str = ""  # secretName / configMap name / hostPath path
    default_mode: int = DEFAULT_VOLUME_MODE
    items: tuple[KeyToPath, ...] = ()
    optional: bool = False
    host_path_type: str = ""  # hostPath: "", Directory, DirectoryOrCreate, File, FileOrCreate, Socket, ...


@dataclass(frozen=True)
class SecurityContext:
    """The fields that change what a Job's container may do; a container's own override the pod's."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    privileged: bool = False  # containers only
    add_capabilities: tuple[str, ...] = ()  # containers only, as written (NET_ADMIN or CAP_NET_ADMIN)
    drop_capabilities: tuple[str, ...] = ()

    def over(self, pod: SecurityContext) -> SecurityContext:
        return SecurityContext(
            run_as_user=self.run_as_user if self.run_as_user is not None else pod.run_as_user,
            run_as_group=self.run_as_group if self.run_as_group is not None else pod.run_as_group,
            run_as_non_root=self.run_as_non_root if self.run_as_non_root is not None else pod.run_as_non_root,
            read_only_root_filesystem=(
                self.read_only_root_filesystem
                if self.read_only_root_filesystem is not None
                else pod.read_only_root_filesystem
            ),
            privileged=self.privileged,
            add_capabilities=self.add_capabilities,
            drop_capabilities=self.drop_capabilities,
        )


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFrom, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    working_dir: str | None = None
    restart_policy: str | None = None  # "Always" on an init container makes it a native sidecar
    security: SecurityContext = SecurityContext()
    readiness_exec: tuple[str, ...] | None = None  # readinessProbe.exec.command
    readiness_period: float = 10.0
    readiness_timeout: float = 1.0


@dataclass(frozen=True)
class PodSpec:
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()
    volumes: tuple[Volume, ...] = ()
    restart_policy: str = "Always"
    host_network: bool = False
    host_pid: bool = False
    security: SecurityContext = SecurityContext()
    fs_group: int | None = None
    placement: Placement = field(default_factory=Placement)
    termination_grace: float = 30.0
    raw: dict[str, Any] = field(default_factory=dict)

    def volume(self, name: str) -> Volume:
        return next(v for v in self.volumes if v.name == name)

    @property
    def init_steps(self) -> tuple[Container, ...]:
        """The init containers that run to completion before the pod's containers, in order: not the native
        sidecars (``restartPolicy: Always``), which the harness does not run."""
        return tuple(c for c in self.init_containers if c.restart_policy != "Always")


_SOURCE_NAME_FIELD = {"secret": "secretName", "configMap": "name"}


def parse_pod_spec(spec: Fields) -> PodSpec:
    containers = tuple(_containers(spec, "containers", required=True))
    if not containers:  # Kubernetes refuses a pod without one
        raise spec.error("containers", "is empty", "give the pod its container: `- {name: deploy, image: ...}`")
    init_containers = tuple(_containers(spec, "initContainers"))
    volumes = tuple(_volumes(spec))
    names = {v.name for v in volumes}
    listed = [("initContainers", i, c) for i, c in enumerate(init_containers)]
    listed += [("containers", i, c) for i, c in enumerate(containers)]
    for field_name, index, container in listed:
        for mount in container.volume_mounts:
            if mount.name not in names:
                raise spec.error(
                    f"{field_name}[{index}].volumeMounts",
                    f"mounts volume {mount.name!r}, which `volumes` does not define",
                    f"define it in `volumes` or mount one it defines: {', '.join(sorted(names)) or 'none'}",
                )
    pod_security = _security(spec)
    return PodSpec(
        containers=tuple(replace(c, security=c.security.over(pod_security)) for c in containers),
        init_containers=tuple(replace(c, security=c.security.over(pod_security)) for c in init_containers),
        volumes=volumes,
        restart_policy=spec.text("restartPolicy", "Always"),
        host_network=bool(spec.data.get("hostNetwork", False)),
        host_pid=bool(spec.data.get("hostPID", False)),
        security=pod_security,
        fs_group=_id(spec.mapping("securityContext"), "fsGroup"),
        placement=Placement(
            node_selector=spec.string_map("nodeSelector"),
            required_terms=_required_terms(spec),
            tolerations=tuple(_tolerations(spec)),
            host_network=bool(spec.data.get("hostNetwork", False)),
        ),
        termination_grace=spec.number("terminationGracePeriodSeconds", 30.0, minimum=0),
        raw=spec.data,
    )


def _tolerations(spec: Fields) -> list[Toleration]:
    result = []
    for item in _list(spec, "tolerations"):
        operator = item.choice("operator", "Equal", ("Equal", "Exists"))
        effect = item.text("effect", "")
        if effect and effect not in EFFECTS:
            raise item.error("effect", f"is {effect!r}", f"use one of: {', '.join(EFFECTS)}, or leave it out")
        key = item.text("key", "")
        if not key and operator != "Exists":
            raise item.error("operator", "must be `Exists` when `key` is empty", "add `operator: Exists`")
        if operator == "Exists" and item.text("value", ""):
            raise item.error("value", "must be empty with `operator: Exists`", "drop `value`, or use `operator: Equal`")
        result.append(Toleration(key, operator, item.text("value", ""), effect))
    return result


def _required_terms(spec: Fields) -> tuple[Term, ...] | None:
    node = spec.mapping("affinity").mapping("nodeAffinity")
    required = node.mapping("requiredDuringSchedulingIgnoredDuringExecution")
    if not required.data:
        return None
    terms = []
    for term in _list(required, "nodeSelectorTerms", required=True):
        terms.append(Term(tuple(_requirements(term, "matchExpressions")), tuple(_requirements(term, "matchFields"))))
    return tuple(terms)


def _requirements(term: Fields, key: str) -> list[Requirement]:
    result = []
    for item in _list(term, key):
        operator = item.choice("operator", "", OPERATORS)
        values = _strings(item, "values") or ()
        if operator in ("In", "NotIn") and not values:
            raise item.error(
                "values", f"must not be empty with `operator: {operator}`", "list the values, e.g. `values: [gpu]`"
            )
        if operator in ("Exists", "DoesNotExist") and values:
            raise item.error("values", f"must be empty with `operator: {operator}`", "drop `values`")
        if operator in ("Gt", "Lt") and (len(values) != 1 or not values[0].lstrip("-").isdigit()):
            raise item.error("values", f"must be one integer with `operator: {operator}`", "e.g. `values: ['3']`")
        if key == "matchFields" and item.text("key", required=True) != "metadata.name":
            raise item.error(
                "key",
                "must be `metadata.name`: the only field nodes are selected by",
                "select by node labels with `matchExpressions` instead",
            )
        result.append(Requirement(item.text("key", required=True), operator, values))
    return result


def _list(parent: Fields, key: str, *, required: bool = False) -> list[Fields]:
    value = parent.data.get(key)
    if value is None:
        if required:
            raise parent.error(key, "is required", f"add `{key}: [...]`")
        return []
    if not isinstance(value, list):
        raise parent.error(
            key, f"must be a list, not {type(value).__name__}", f"write `{key}:` as a list of `- ` items"
        )
    return [Fields(parent.path, item, f"{parent.field_name(key)}[{i}]") for i, item in enumerate(value)]


def _strings(parent: Fields, key: str) -> tuple[str, ...] | None:
    value = parent.data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise parent.error(key, "must be a list of strings", f'e.g. `{key}: ["sh", "-c", "..."]`')
    return tuple(str(v) for v in value)


def _containers(spec: Fields, key: str, *, required: bool = False) -> list[Container]:
    result = []
    for item in _list(spec, key, required=required):
        result.append(
            Container(
                name=item.text("name", required=True),
                image=item.text("image", required=True),
                command=_strings(item, "command"),
                args=_strings(item, "args"),
                env=tuple(_env(item)),
                env_from=tuple(_env_from(item)),
                volume_mounts=tuple(
                    VolumeMount(
                        name=m.text("name", required=True),
                        mount_path=m.text("mountPath", required=True),
                        read_only=bool(m.data.get("readOnly", False)),
                        sub_path=m.text("subPath", ""),
                    )
                    for m in _list(item, "volumeMounts")
                ),
                working_dir=item.optional_text("workingDir"),
                restart_policy=item.optional_text("restartPolicy"),
                security=_security(item),
                readiness_exec=_readiness(item),
                readiness_period=item.mapping("readinessProbe").number("periodSeconds", 10.0, minimum=1),
                readiness_timeout=item.mapping("readinessProbe").number("timeoutSeconds", 1.0, minimum=1),
            )
        )
    return result


def _readiness(container: Fields) -> tuple[str, ...] | None:
    probe = container.mapping("readinessProbe")
    for kind in ("httpGet", "tcpSocket", "grpc"):
        if probe.has(kind):
            raise probe.error(kind, "is a probe the harness cannot run", "use an `exec` readiness probe")
    return _strings(probe.mapping("exec"), "command")


def _id(fields: Fields, key: str) -> int | None:
    value = fields.data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fields.error(key, f"must be a user or group id (a whole number), not {value!r}", f"e.g. `{key}: 1000`")
    return value


def _flag(fields: Fields, key: str) -> bool | None:
    value = fields.data.get(key)
    if value is not None and not isinstance(value, bool):
        raise fields.error(key, f"must be true or false, not {value!r}", f"write `{key}: true` or `{key}: false`")
    return value


def _security(owner: Fields) -> SecurityContext:
    context = owner.mapping("securityContext")
    return SecurityContext(
        run_as_user=_id(context, "runAsUser"),
        run_as_group=_id(context, "runAsGroup"),
        run_as_non_root=_flag(context, "runAsNonRoot"),
        read_only_root_filesystem=_flag(context, "readOnlyRootFilesystem"),
        privileged=bool(_flag(context, "privileged")),
        add_capabilities=_strings(context.mapping("capabilities"), "add") or (),
        drop_capabilities=_strings(context.mapping("capabilities"), "drop") or (),
    )


def _env(container: Fields) -> list[EnvVar]:
    result = []
    for item in _list(container, "env"):
        name = item.text("name", required=True)
        if "valueFrom" in item.data:
            source = item.mapping("valueFrom")
            for field_name, kind in (("secretKeyRef", "secret"), ("configMapKeyRef", "configMap")):
                if source.has(field_name):
                    ref = source.mapping(field_name)
                    key_ref = KeyRef(
                        kind,
                        ref.text("name", required=True),
                        ref.text("key", required=True),
                        bool(ref.data.get("optional", False)),
                    )
                    result.append(EnvVar(name, ref=key_ref))
                    break
            else:
                if source.has("fieldRef"):
                    path = source.mapping("fieldRef").text("fieldPath", required=True)
                    result.append(EnvVar(name, ref=KeyRef("field", "", path)))
                    continue
                raise source.error(
                    next(iter(source.data), "valueFrom"),
                    "is not supported by the harness",
                    "use a literal `value`, secretKeyRef, configMapKeyRef or fieldRef",
                )
        else:
            result.append(EnvVar(name, value=item.text("value", "")))
    return result


def _env_from(container: Fields) -> list[EnvFrom]:
    result = []
    for item in _list(container, "envFrom"):
        for field_name, kind in (("secretRef", "secret"), ("configMapRef", "configMap")):
            if item.has(field_name):
                ref = item.mapping(field_name)
                result.append(
                    EnvFrom(
                        kind,
                        ref.text("name", required=True),
                        item.text("prefix", ""),
                        bool(ref.data.get("optional", False)),
                    )
                )
                break
        else:
            raise item.error("secretRef", "or `configMapRef` is required", "e.g. `- secretRef: {name: my-secret}`")
    return result


def _mode(fields: Fields, key: str, default: int | None) -> int | None:
    value = fields.data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        raise fields.error(
            key, f"must be a file mode between 0 and 0777 (511), not {value!r}", f"e.g. `{key}: 0400` (octal)"
        )
    return value


def _volumes(spec: Fields) -> list[Volume]:
    result = []
    for item in _list(spec, "volumes"):
        name = item.text("name", required=True)
        kinds = [k for k in item.data if k != "name"]
        if len(kinds) != 1:
            raise item.error(
                "name",
                f"volume {name!r} must have exactly one source (secret, configMap, ...)",
                "give it one of: secret, configMap, emptyDir, hostPath",
            )
        kind = kinds[0]
        source = item.mapping(kind) if isinstance(item.data[kind], dict) else Fields(item.path, {}, kind)
        if kind in _SOURCE_NAME_FIELD:  # secret and configMap volumes project keys as files
            volume = Volume(
                name,
                kind,
                source.text(_SOURCE_NAME_FIELD[kind], required=True),
                _mode(source, "defaultMode", DEFAULT_VOLUME_MODE) or 0,
                tuple(_items(source)),
                bool(source.data.get("optional", False)),
            )
        elif kind == "hostPath":
            volume = Volume(name, kind, source.text("path", required=True), host_path_type=source.text("type", ""))
        else:
            volume = Volume(name, kind)
        result.append(volume)
    return result


def _items(source: Fields) -> list[KeyToPath]:
    return [
        KeyToPath(i.text("key", required=True), i.text("path", required=True), _mode(i, "mode", None))
        for i in _list(source, "items")
    ]
