"""A deployer: its folder, its spec file (harness.yaml) and its Kubernetes manifest."""
