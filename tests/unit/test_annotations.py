"""GitHub Actions annotations: escaped as the runner reads them, on the file (and line) a problem is in."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.reports.annotations import error_annotation, where_of


def test_an_annotation_escapes_its_message_and_parameters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    text = error_annotation(
        "apply 1 failed: 100% bad\nsecond line", file=str(tmp_path / "deployers/a/harness.yaml"), line=3,
        title="a / converge, gate: x",
    )  # fmt: skip
    assert text == (
        "::error file=deployers/a/harness.yaml,line=3,title=a / converge%2C gate%3A x"
        "::apply 1 failed: 100%25 bad%0Asecond line"
    )
    assert error_annotation("no file") == "::error::no file"


def test_where_an_error_is_becomes_a_file_and_a_line() -> None:
    assert where_of("/r/deployers/a/harness.yaml:12") == ("/r/deployers/a/harness.yaml", 12)
    assert where_of("/r/deployers/a/harness.yaml") == ("/r/deployers/a/harness.yaml", None)
    assert where_of(None) == (None, None)
