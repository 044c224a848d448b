"""kustomize's ConfigMap and Secret generators: data from `literals`, `files` and `envs`, created, merged into or
replacing an object of the same name, their names hashed at the end unless the options say not to."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.kustomize.kustomization import GENERATOR_OPTIONS, Generator
from harness.kustomize.resources import Resource
from harness.kustomize.transform import encoded
from harness.yaml_fields import Fields


def generate(resources: list[Resource], generator: Generator, options: Fields) -> None:
    fields = generator.fields
    name = fields.text("name", required=True)
    behavior = fields.choice("behavior", "create", ("create", "merge", "replace"))
    data = _data(fields)
    own = fields.mapping("options", known=GENERATOR_OPTIONS)
    existing = next((r for r in resources if r.kind == generator.kind and name in r.names), None)
    if behavior == "create" and existing is not None:
        raise fields.error("name", f"is {generator.kind} {name}, which the resources already hold",
                           "give `behavior: merge` or `behavior: replace`")  # fmt: skip
    if behavior != "create" and existing is None:
        raise fields.error("behavior", f"is {behavior}, but no {generator.kind} {name} is among the resources",
                           "use `behavior: create`, or add the resource it changes")  # fmt: skip
    if existing is not None:
        if generator.kind == "Secret":
            data = encoded(data)
            existing.obj["type"] = fields.text("type", "Opaque")
        old = existing.obj.get("data") if behavior == "merge" else None
        existing.obj["data"] = {**(old if isinstance(old, dict) else {}), **data}
        resource = existing
    else:
        obj: dict[str, object] = {"apiVersion": "v1", "kind": generator.kind, "metadata": {"name": name}}
        if fields.has("namespace"):
            obj["metadata"] = {"name": name, "namespace": fields.text("namespace")}
        if generator.kind == "Secret":
            obj["type"] = fields.text("type", "Opaque")
            obj["data"] = encoded(data)
        else:
            obj["data"] = data
        resource = Resource(obj, fields.path)
        resources.append(resource)
    for source in (options, own):
        for key in ("labels", "annotations"):
            values = source.string_map(key)
            current = resource.metadata.get(key)
            if values:
                resource.metadata[key] = {**(current if isinstance(current, dict) else {}), **values}
    if own.flag("immutable", False) or options.flag("immutable", False):  # either says so, as in kustomize
        resource.obj["immutable"] = True
    hashless = own.flag("disableNameSuffixHash", False) or options.flag("disableNameSuffixHash", False)
    resource.hashed = (existing.hashed if existing is not None else True) and not hashless


def _data(fields: Fields) -> dict[str, str]:
    folder = fields.path.parent
    data: dict[str, str] = {}
    for literal in fields.string_list("literals"):
        key, equals, value = literal.partition("=")
        if not equals or not key:
            raise fields.error("literals", f"holds {literal!r}", "write each as `KEY=value`")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        data[key] = value
    for entry in fields.string_list("files"):
        key, equals, path = entry.partition("=")
        if not equals:
            key, path = Path(entry).name, entry
        data[key] = _text(fields, "files", folder / path)
    for env in (*fields.string_list("envs"), *([fields.text("env")] if fields.has("env") else [])):
        for number, line in enumerate(_text(fields, "envs", folder / env).splitlines(), 1):
            line = line.lstrip()  # as kustomize: a value keeps its spaces
            if not line.strip() or line.startswith("#"):
                continue
            key, equals, value = line.partition("=")
            if not equals:
                raise HarnessError(f"line {number} is {line!r}, with no `=`", where=folder / env,
                                   fix="write `KEY=value` (a value taken from the environment is not in the "
                                       "harness's subset of kustomize)")  # fmt: skip
            data[key] = value
    return data


def _text(fields: Fields, key: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        raise fields.error(
            key,
            f"names {path}, which does not exist",
            "commit the file, or give the value in the spec's `secrets:` or `config_maps:`",
        ) from None
    except IsADirectoryError:
        raise fields.error(key, f"names {path}, which is a folder", "name the file itself") from None
    except OSError as exc:
        raise fields.error(key, f"names {path}, which cannot be read: {exc.strerror}", "make it readable") from None
    except UnicodeDecodeError:
        raise fields.error(key, f"names {path}, which is not UTF-8 text (binaryData is not in the harness's subset)",
                           "install kustomize, or render the overlay once into a file") from None  # fmt: skip
