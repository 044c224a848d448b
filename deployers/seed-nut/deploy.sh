#!/bin/bash
# seed-nut deployer: one ssh or scp per step, no connection sharing, restarts NUT on every run.
set -e

: "${TARGET_HOST:?TARGET_HOST is not set}"
: "${NUT_ADMIN_PASSWORD:?NUT_ADMIN_PASSWORD is not set}"
: "${NUT_MONITOR_PASSWORD:?NUT_MONITOR_PASSWORD is not set}"
KEY=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
VERSION=$(cat /app/VERSION)
OPTS="-i $KEY -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
BASE=/opt/seed-nut

run() { ssh $OPTS "root@$TARGET_HOST" "$@"; }
copy() { scp -q $OPTS "$1" "root@$TARGET_HOST:$2"; }

echo "==> seed-nut $VERSION -> $TARGET_HOST"
run "mkdir -p $BASE/scripts /etc/nut"
run "dpkg -s nut >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y nut"

echo "==> configs"
WORK=$(mktemp -d)
for f in /app/configs/nut/*; do
    name=$(basename "$f")
    sed -e "s|@NUT_ADMIN_PASSWORD@|$NUT_ADMIN_PASSWORD|g" \
        -e "s|@NUT_MONITOR_PASSWORD@|$NUT_MONITOR_PASSWORD|g" "$f" > "$WORK/$name"
    copy "$WORK/$name" "/etc/nut/$name"
    run "chown root:nut /etc/nut/$name && chmod 640 /etc/nut/$name"
done
rm -rf "$WORK"

echo "==> scripts"
for f in /app/scripts/*.sh; do
    copy "$f" "$BASE/scripts/$(basename "$f")"
    run "chown root:root $BASE/scripts/$(basename "$f") && chmod 755 $BASE/scripts/$(basename "$f")"
done

echo "==> .env"
run "cat > $BASE/.env" <<ENV
NUT_ADMIN_PASSWORD=$NUT_ADMIN_PASSWORD
NUT_MONITOR_PASSWORD=$NUT_MONITOR_PASSWORD
ENV
run "chown root:root $BASE/.env && chmod 600 $BASE/.env"

echo "==> cron"
copy /app/configs/cron.d/seed-nut /etc/cron.d/seed-nut
run "chown root:root /etc/cron.d/seed-nut && chmod 644 /etc/cron.d/seed-nut"

echo "==> services"
run "systemctl enable nut-driver.target nut-driver@ups nut-server nut-monitor"
run "systemctl restart nut-driver.target"
run "systemctl restart nut-server"
run "systemctl restart nut-monitor"
run "echo $VERSION > $BASE/.version && chown root:root $BASE/.version && chmod 644 $BASE/.version"
run "systemctl is-active nut-driver@ups nut-server nut-monitor"
echo "==> done"
