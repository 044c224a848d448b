"""Host state: snapshots taken on the target in one shell command, and diffs between them."""
