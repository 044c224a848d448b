#!/bin/bash
# Pins host keys: a host whose key is not the known one is refused, and the deploy fails.
set -euo pipefail
for target in $TARGETS; do
    ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/ssh-known/known_hosts \
        -i /etc/ssh-key/id_ed25519 "root@$target" 'echo pinned > /etc/pinned.conf'
    echo "deployed to $target"
done
