"""Faults as scenario steps: what breaks (sshd stopped, the machine paused, stopped or rebooted, its network cut,
a path full, its host keys changed), on which machine, and when (now, or after the Nth remote command)."""
