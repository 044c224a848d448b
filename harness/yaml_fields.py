"""Reading YAML documents field by field, with errors that name the file, the field and the fix."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError


class DuplicateKey(yaml.MarkedYAMLError):
    """A key written twice in one mapping: YAML loaders keep the last value and drop the first without a word."""


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key written twice in one mapping. Checked as each mapping is composed, before
    any merge (`<<`) is applied: keys a merge brings in may be overridden, as YAML means them to be."""

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:  # the stubs' type for the anchor is wrong
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            identity = (key_node.tag, key_node.value)
            if identity in seen:
                raise DuplicateKey(
                    problem=f"`{key_node.value}` is given twice (first at line {seen[identity] + 1}); YAML would keep"
                    " only the last",
                    problem_mark=key_node.start_mark,
                )
            seen[identity] = key_node.start_mark.line
        return node


def load_yaml_documents(path: Path, what: str) -> list[Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise HarnessError(f"{what} not found", where=path, fix=f"create it or point the spec at the {what}") from None
    except OSError as exc:
        raise HarnessError(f"cannot read {what}: {exc.strerror}", where=path) from None
    except UnicodeDecodeError:
        raise HarnessError(f"{what} is not UTF-8 text", where=path, fix="save it as UTF-8") from None
    return parse_yaml_documents(text, path)


def parse_yaml_documents(text: str, path: Path) -> list[Any]:
    """YAML documents, strict about keys given twice; errors name ``path`` and the line."""
    try:
        return [doc for doc in yaml.load_all(text, Loader=_StrictLoader) if doc is not None]
    except DuplicateKey as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        raise HarnessError(f"{exc.problem}", where=where, fix="keep one of the two, merged into one") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise HarnessError(f"not valid YAML: {problem}", where=where, fix="fix the YAML syntax at that line") from None


class Fields:
    """A mapping read from ``path`` at ``prefix`` (``machines.pve1``), strict about its keys."""

    def __init__(self, path: Path, data: Any, prefix: str = "", *, known: tuple[str, ...] = ()) -> None:
        if not isinstance(data, dict):
            raise self._error(
                path,
                prefix or "(top level)",
                f"must be a mapping, not {type(data).__name__}",
                "write it as `name: value` lines (a list or a single value cannot go there)",
            )
        # YAML keys may be numbers (`1:`); fields are named by their text.
        self.path, self.data, self.prefix = path, {str(k): v for k, v in data.items()}, prefix
        if len(self.data) < len(data):  # `1:` and `"1":` are one name
            twice = sorted({str(k) for k in data if sum(str(j) == str(k) for j in data) > 1})
            raise self.error(twice[0], "is given twice (once as a number, once as text)", "keep one of the two")
        if known:
            for key in data:
                if key not in known:
                    close = difflib.get_close_matches(str(key), known, n=1)
                    hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}"
                    raise self.error(str(key), "unknown field", hint)

    def field_name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, message: str, fix: str) -> HarnessError:
        """What is wrong with the field, and how to put it right: every bad field gets a fix."""
        return self._error(self.path, self.field_name(key), message, fix)

    @staticmethod
    def _error(path: Path, field: str, message: str, fix: str | None = None) -> HarnessError:
        return HarnessError(f"`{field}` {message}", where=path, fix=fix)

    def has(self, key: str) -> bool:
        return key in self.data

    def _add(self, key: str) -> str:
        return f"add `{key}: ...`" + (f" under `{self.prefix}`" if self.prefix else "")

    def text(self, key: str, default: str | None = None, *, required: bool = False, fix: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.error(key, "is required", fix or self._add(key))
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(key, f"must be a string, not {type(value).__name__}", fix or 'quote it: `"..."`')
        return str(value)

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.data and self.data[key] is not None else None

    def number(self, key: str, default: float, *, minimum: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number, not {value!r}", f"write a number, e.g. `{key}: {default:g}`")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be {minimum:g} or more, not {value!r}", f"use {minimum:g} or more")
        return float(value)

    def mapping(self, key: str, *, known: tuple[str, ...] = (), required: bool = False) -> Fields:
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "is required", self._add(key))
            return Fields(self.path, {}, self.field_name(key))
        return Fields(self.path, self.data[key], self.field_name(key), known=known)

    def string_map(self, key: str) -> dict[str, str]:
        """A mapping of names to scalar values (numbers and booleans become strings, as Kubernetes wants)."""
        fields = self.mapping(key)
        result = {}
        for name, value in fields.data.items():
            if isinstance(value, (dict, list)) or value is None:
                raise fields.error(str(name), "must be a string value", 'quote it, e.g. `KEY: "value"`')
            result[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
        return result

    def string_list(self, key: str, fix: str | None = None) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "must be a list of strings", fix or f"write a list, e.g. `{key}: [a, b]`")
        return tuple(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}", f"write `{key}: true` or `{key}: false`")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, f"is {value!r}", f"use one of: {', '.join(choices)}")
        return value

    def items(self) -> list[tuple[str, Any]]:
        return list(self.data.items())
