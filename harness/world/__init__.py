"""The outside of the test network: what a deployer downloads, served by the harness (see server.py)."""
