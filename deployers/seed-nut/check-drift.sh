#!/bin/bash
# seed-nut drift check: compares each file with the image's copy, one ssh per file; exit 1 on drift.
set -e
KEY=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
OPTS="-i $KEY -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
BASE=/opt/seed-nut
run() { ssh $OPTS "root@$TARGET_HOST" "$@"; }
drift=0

# file LOCAL REMOTE MODE OWNER: content, mode and owner as the deployer writes them.
file() {
    local want have
    want="$(md5sum < "$1" | cut -d' ' -f1) $3 $4"
    have=$(run "[ -f $2 ] && echo \$(md5sum < $2 | cut -d' ' -f1) \$(stat -c '%a %U:%G' $2)" || true)
    if [ "$want" != "$have" ]; then echo "DRIFT $2"; drift=1; fi
}

WORK=$(mktemp -d)
for f in /app/configs/nut/*; do
    sed -e "s|@NUT_ADMIN_PASSWORD@|$NUT_ADMIN_PASSWORD|g" \
        -e "s|@NUT_MONITOR_PASSWORD@|$NUT_MONITOR_PASSWORD|g" "$f" > "$WORK/$(basename "$f")"
    file "$WORK/$(basename "$f")" "/etc/nut/$(basename "$f")" 640 root:nut
done
for f in /app/scripts/*.sh; do file "$f" "$BASE/scripts/$(basename "$f")" 755 root:root; done
printf 'NUT_ADMIN_PASSWORD=%s\nNUT_MONITOR_PASSWORD=%s\n' "$NUT_ADMIN_PASSWORD" "$NUT_MONITOR_PASSWORD" > "$WORK/env"
file "$WORK/env" "$BASE/.env" 600 root:root
file /app/configs/cron.d/seed-nut /etc/cron.d/seed-nut 644 root:root
file /app/VERSION "$BASE/.version" 644 root:root
rm -rf "$WORK"
for unit in nut-driver.target nut-driver@ups.service nut-server.service nut-monitor.service; do
    state=$(run "echo \$(systemctl is-enabled $unit) \$(systemctl is-active $unit)" || true)
    if [ "$state" != "enabled active" ]; then echo "DRIFT $unit: $state"; drift=1; fi
done
[ $drift = 0 ] && echo "no drift"
exit $drift
