#!/bin/bash
# Wrong on purpose: each cron.d file it writes is one that cron skips or misreads.
#   cron-written        group-writable (mode 664): cron skips it ("INSECURE MODE")
#   cron-written-owner  owned by nobody: cron skips it ("WRONG FILE OWNER")
#   cron-written.bak    a dot in its name: cron skips it
#   cron-written-days   day-of-month and day-of-week both restricted, and an entry without its user
#   cron-written-ok     right (install -m 644 -o root): no finding
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
ssh "${ssh_opts[@]}" "root@$TARGET_HOST" sh -s <<'REMOTE'
set -e
printf '*/10 * * * * root /bin/true\n' > /etc/cron.d/cron-written
chmod 664 /etc/cron.d/cron-written
printf '*/10 * * * * root /bin/true\n' > /etc/cron.d/cron-written-owner
chown nobody /etc/cron.d/cron-written-owner
printf '*/10 * * * * root /bin/true\n' > /etc/cron.d/cron-written.bak
printf '0 10 1-7 * 6 root /bin/true\n*/5 * * * * /bin/true\n' > /etc/cron.d/cron-written-days
printf '0 3 * * * root /bin/true\n' | install -m 644 -o root -g root /dev/stdin /etc/cron.d/cron-written-ok
REMOTE
echo "cron files written"
