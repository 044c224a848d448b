"""DaemonSets on a cluster: the simulated one (nodes as containers, pods inside them) and kind."""
