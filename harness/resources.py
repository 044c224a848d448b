"""Where the shipped data (machine definitions, scenarios) lives.

In a wheel they are packaged under ``harness/_data``; in a source checkout
(editable install, tests) they sit at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


def vms_dir() -> Path:
    return data_dir("vms")


def scenarios_dir() -> Path:
    return data_dir("scenarios")
