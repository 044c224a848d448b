"""Drift: mutations derived from a converged host, the drift check run against each, and a new apply healing it."""
