#!/bin/bash
# NOTIFYCMD for upsmon (deployed by pve-nut-deployer).
# upsmon runs it as the unprivileged "nut" user with the event in NOTIFYTYPE,
# the UPS in UPSNAME and a human-readable message as the first argument.
# Every event goes to /opt/pve-nut/log/events.log; when NOTIFY_URL is set in
# /opt/pve-nut/notify.conf the event is also POSTed there as JSON.
set -u

LOG_FILE=/opt/pve-nut/log/events.log
CONF_FILE=/opt/pve-nut/notify.conf

message=${1:-"(no message)"}
type=${NOTIFYTYPE:-UNKNOWN}
ups=${UPSNAME:-unknown}
host=$(hostname 2>/dev/null || echo unknown)
now=$(date '+%Y-%m-%dT%H:%M:%S%z')

printf '%s %s ups=%s type=%s %s\n' "$now" "$host" "$ups" "$type" "$message" >> "$LOG_FILE" 2>/dev/null \
    || logger -t pve-nut-notify "cannot write $LOG_FILE"

NOTIFY_URL=
if [[ -r $CONF_FILE ]]; then
    NOTIFY_URL=$(sed -n 's/^NOTIFY_URL=//p' "$CONF_FILE" | tail -n 1)
fi

if [[ -n $NOTIFY_URL ]]; then
    json_escape() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '%s' "$s"; }
    body=$(printf '{"host":"%s","ups":"%s","type":"%s","message":"%s","time":"%s"}' \
        "$(json_escape "$host")" "$(json_escape "$ups")" "$(json_escape "$type")" \
        "$(json_escape "$message")" "$now")
    if ! curl -fsS --max-time 10 -H 'Content-Type: application/json' -d "$body" "$NOTIFY_URL" >/dev/null 2>&1; then
        printf '%s %s notify: POST to NOTIFY_URL failed\n' "$now" "$host" >> "$LOG_FILE" 2>/dev/null
    fi
fi

# Never make upsmon wait or fail because of a notification.
exit 0
