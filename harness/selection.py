"""Which of a deployer's scenarios a run selects, known before collection from its ``-m`` expression (pytest's
own grammar): a run that selects no scenario needing machines (``-m lint``) builds no image and probes nothing."""

from __future__ import annotations

import pytest
from _pytest.mark.expression import Expression

from harness.checks.steps import offline
from harness.deployer.spec import DeployerSpec
from harness.errors import HarnessError
from harness.scenario.model import scenarios_for


def needs_machines(config: pytest.Config, spec: DeployerSpec) -> bool:
    """Whether any scenario of the deployer that ``-m`` selects starts machines (when unsure: yes)."""
    try:
        scenarios = [s for s in scenarios_for(spec.folder) if s.workload in ("any", spec.workload)]
        expression = str(config.option.markexpr or "")
        selects = Expression.compile(expression).evaluate if expression else None
    except (HarnessError, SyntaxError):  # said where it is collected, or by pytest
        return True
    for scenario in scenarios:
        if offline(scenario.steps):
            continue
        if selects is None or selects(lambda name, /, **kwargs: name == scenario.name):  # noqa: B023
            return True
    return False
