"""Images built offline and cached by content hash: the rootfs, the machines, the deployers."""
