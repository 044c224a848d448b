#!/bin/bash
# A minimal Job + SSH deployer: one config file and a .env on the host.
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
echo "deploying greeting to $TARGET_HOST"
ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "install -d -m 0755 /etc/hello && printf '%s\n' '$GREETING' > /etc/hello/greeting.conf && umask 077 && printf 'TOKEN=%s\n' '$HELLO_TOKEN' > /etc/hello/.env"
echo done
