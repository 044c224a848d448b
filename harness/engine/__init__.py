"""The Docker engine: connection, capability probe, labels and the sweep of dead runs."""

from harness.engine.client import connect
from harness.engine.labels import Ownership
from harness.engine.probe import Capabilities, probe

__all__ = ["Capabilities", "Ownership", "connect", "probe"]
