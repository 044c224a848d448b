"""Simulated machines: containers with systemd and sshd on an internal network."""
