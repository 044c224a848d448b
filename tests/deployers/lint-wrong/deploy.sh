#!/bin/bash
# Wrong on purpose: host keys not checked, a download saved without --fail.
set -euo pipefail
ssh -o StrictHostKeyChecking=no -i /etc/deployer/ssh/id_ed25519 "root@$TARGET_HOST" true
curl -sS -o /tmp/release.tar.gz https://example.org/release.tar.gz
curl -fsS -o /tmp/ok.tar.gz https://example.org/ok.tar.gz   # right: -f
