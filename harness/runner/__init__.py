"""Runners: a Kubernetes Job's pod template run with Docker, as Kubernetes would run it."""
