#!/bin/bash
# Wrong on purpose, once per place a secret must not show:
#   the log            it prints the token
#   a command line     it hands the token to the host as an argument
#   a window           .env written by `cat >` (mode 644), made private by the next command
#   a readable file    app.conf holds the token and stays 644
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
run() { ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "$@"; }
echo "deploying with token $API_TOKEN"
run "mkdir -p /etc/secrets-wrong && test -n '$API_TOKEN'"
run "cat > /etc/secrets-wrong/.env" <<<"API_TOKEN=$API_TOKEN"
run "chmod 600 /etc/secrets-wrong/.env"
run "cat > /etc/secrets-wrong/app.conf" <<<"token = $API_TOKEN"
echo done
