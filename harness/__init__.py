"""Test-and-simulation harness for host deployers.

The library works without pytest (build images, start machines, run a Job);
``harness.plugin`` is the thin pytest layer on top.
"""

__version__ = "0.1.0"
PROJECT = "deployer-harness"
