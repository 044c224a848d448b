"""Kubernetes' ``$(VAR)`` expansion in env values, command and args."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """``$(NAME)`` becomes the value of NAME when it is defined, ``$$`` becomes ``$``; the rest stays."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)
