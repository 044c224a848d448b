"""Kubernetes manifests, read as the API server would read them (the parts the harness runs)."""
