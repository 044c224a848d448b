"""pytest rewrites the asserts of an installed plugin's whole package as it imports it; the harness opts its own
modules out (their asserts are invariants, and the rewriting cost every run 0.4 s at its start). Tests keep it."""

from __future__ import annotations

import sys

from _pytest.assertion.rewrite import AssertionRewritingHook

import harness.checks.steps
import harness.plugin


def test_the_harness_modules_load_as_plain_python_and_the_tests_are_rewritten() -> None:
    for module in (harness.plugin, harness.checks.steps):
        assert not isinstance(module.__loader__, AssertionRewritingHook), module.__name__
    assert isinstance(sys.modules[__name__].__loader__, AssertionRewritingHook)
