"""Which of a deployer's scenarios a run selects, known before collection from its ``-m`` expression (pytest's
own grammar): a run that selects no scenario needing machines (``-m lint``) builds no image and probes nothing."""

from __future__ import annotations

import pytest
from _pytest.mark.expression import Expression

from harness.checks.steps import offline
from harness.deployer.spec import DeployerSpec
from harness.scenario.model import scenarios_for


def needs_machines(config: pytest.Config, spec: DeployerSpec) -> bool:
    """Whether the run may start machines for this deployer: whether ``-m`` selects any of its scenarios that need
    them. When unsure (a scenario file that does not load, an expression pytest will refuse), yes."""
    expression = str(config.option.markexpr or "")
    if not expression:
        return True
    try:
        scenarios = [s for s in scenarios_for(spec.folder) if s.workload in ("any", spec.workload)]
        evaluate = Expression.compile(expression).evaluate
        chosen = [s for s in scenarios if evaluate(lambda name, /, **kwargs: name == s.name)]  # noqa: B023
    except Exception:  # HarnessError, or pytest's own parse error (ParseError before pytest 9, then SyntaxError)
        return True
    return any(not offline(s.steps) for s in chosen)
