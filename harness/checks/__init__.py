"""The checks a scenario's steps run: converge, idempotency, placement, drift and rollback, each reporting a
:class:`~harness.checks.report.StepReport`."""
