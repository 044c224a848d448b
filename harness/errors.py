"""Errors a user can act on: each names where the problem is and how to fix it."""

from __future__ import annotations

import urllib.parse
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


class NotApplicable(HarnessError):
    """A scenario that cannot run here, for a reason the user can read: reported as skipped."""


class NoPreviousVersion(NotApplicable):
    """Nothing to roll back to: the deployer is not in git, or git holds no earlier version of it."""


class CheckBroken(HarnessError):
    """The drift check fails on the converged host: it cannot tell drift from no drift."""


class TruncatedOutput(HarnessError):
    """A snapshot command stopped before its end; the message says how far it got, never what it read."""


def engine_error(exc: Exception) -> HarnessError:
    """A Docker engine's refusal (``docker.errors.APIError``) as one line: the request, the object, the fix."""
    explanation = getattr(exc, "explanation", None) or str(exc)
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None)
    path = urllib.parse.urlsplit(str(getattr(request, "url", ""))).path
    what = f" to {getattr(request, 'method', '')} {path.split('/', 2)[-1]}" if path else ""
    return HarnessError(
        f"the Docker engine refused a request{what}: {explanation}",
        fix="see `docker info` and the engine's log; `deployer-harness sweep` removes what dead runs left behind",
    )
