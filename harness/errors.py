"""Errors a user can act on: each names where the problem is and how to fix it."""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    def __init__(self, message: str, *, where: str | Path | None = None, fix: str | None = None) -> None:
        self.message = message
        self.where = str(where) if where is not None else None
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class EngineUnavailable(HarnessError):
    """No Docker engine answers."""


class ImageBuildError(HarnessError):
    """An image failed to build; the message carries the failing step and its output."""


class NoPreviousVersion(HarnessError):
    """Nothing to roll back to: the deployer is not in git, or git holds no earlier version of it."""


class CheckBroken(HarnessError):
    """The drift check fails on the converged host: it cannot tell drift from no drift."""


class TruncatedOutput(HarnessError):
    """A snapshot command stopped before its end; the message says how far it got, never what it read."""
