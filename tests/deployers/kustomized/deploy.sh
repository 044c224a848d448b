#!/bin/bash
# A minimal Job + SSH deployer: one config file and a .env on the host, written with their modes every time.
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
echo "deploying greeting to $TARGET_HOST"
ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "install -d -m 0755 /etc/hello && printf '%s\n' '$GREETING' | install -m 0644 -o root /dev/stdin /etc/hello/greeting.conf && printf 'TOKEN=%s\n' '$HELLO_TOKEN' | install -m 0600 -o root /dev/stdin /etc/hello/.env"
echo done
