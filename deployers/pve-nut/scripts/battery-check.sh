#!/bin/bash
# Run from /etc/cron.d/pve-nut: logs the UPS battery charge once per run.
# Deployed by pve-nut-deployer. Output goes to /opt/pve-nut/log/battery.log.
set -uo pipefail

UPS=ups@localhost
WARN_BELOW=${WARN_BELOW:-50}
now=$(date '+%Y-%m-%dT%H:%M:%S%z')

if ! status=$(upsc "$UPS" ups.status 2>/dev/null); then
    echo "$now ERROR upsd does not answer for $UPS"
    logger -t pve-nut "battery-check: upsd does not answer for $UPS"
    exit 1
fi
charge=$(upsc "$UPS" battery.charge 2>/dev/null || echo unknown)

level=INFO
if [[ $charge =~ ^[0-9]+$ ]] && (( charge < WARN_BELOW )); then
    level=WARN
    logger -t pve-nut "battery-check: battery charge ${charge}% (status $status)"
fi
echo "$now $level status=\"$status\" battery.charge=$charge"
