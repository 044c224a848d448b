#!/bin/bash
# Logs the UPS's status and battery charge (cron, every five minutes); warns to syslog below WARN_BELOW percent.
set -uo pipefail
UPS=ups@localhost
WARN_BELOW=${WARN_BELOW:-50}
now=$(date '+%Y-%m-%dT%H:%M:%S%z')
if ! status=$(upsc "$UPS" ups.status 2>/dev/null); then
    echo "$now ERROR upsd does not answer for $UPS"
    logger -t ansible-nut "battery-check: upsd does not answer for $UPS"
    exit 1
fi
charge=$(upsc "$UPS" battery.charge 2>/dev/null || echo unknown)
if [[ $charge =~ ^[0-9]+$ ]] && (( charge < WARN_BELOW )); then
    logger -t ansible-nut "battery-check: battery charge ${charge}% (status $status)"
fi
echo "$now status=\"$status\" battery.charge=$charge"
