"""Faults as scenario steps: what breaks (sshd stopped, the machine paused, stopped or rebooted, its network cut,
a path full, its host keys changed, the world's downloads failing), on which machine or the world, and when (now,
after the Nth remote command, or when the deployer's log prints a line)."""
