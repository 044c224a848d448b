#!/bin/bash
# A Job + SSH deployer with versions (VERSION, baked into the image):
#   1  installs /opt/rb/bin/run.sh and its cron entry in /etc/cron.d/rb
#   2  adds /opt/rb/bin/report.sh and its cron entry in /etc/cron.d/rb-report
# Both record their version in /opt/rb/VERSION, followed by CHANNEL when the Job sets it (so a test can see
# which manifest ran). MODE (from the Job) decides what a version does with
# files it does not install: `additive` leaves them (a rollback to 1 keeps 2's script and cron entry),
# `prune` removes every /opt/rb/bin file and /etc/cron.d/rb* file it does not own (a clean rollback).
set -euo pipefail
version=$(cat /app/VERSION)
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
echo "deploying rb $version to $TARGET_HOST (mode: $MODE)"
ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "VERSION=$version MODE=$MODE CHANNEL='${CHANNEL:-}' bash -s" <<'REMOTE'
set -euo pipefail
owned=()
# put PATH MODE CONTENT: write only when the content or the mode differs.
put() {
    owned+=("$1")
    if [[ ! -f $1 || $(cat "$1") != "$3" || $(stat -c %a "$1") != "$2" ]]; then
        printf '%s\n' "$3" > "$1.tmp" && chmod "$2" "$1.tmp" && mv -f "$1.tmp" "$1"
        echo "changed $1"
    fi
}
install -d -m 0755 /opt/rb /opt/rb/bin
put /opt/rb/bin/run.sh 755 '#!/bin/sh
echo rb run'
put /etc/cron.d/rb 644 '*/10 * * * * root /opt/rb/bin/run.sh'
if (( VERSION >= 2 )); then
    put /opt/rb/bin/report.sh 755 '#!/bin/sh
echo rb report'
    put /etc/cron.d/rb-report 644 '0 6 * * * root /opt/rb/bin/report.sh'
fi
if [[ $MODE == prune ]]; then
    for f in /opt/rb/bin/* /etc/cron.d/rb /etc/cron.d/rb-*; do
        [[ -e $f ]] || continue
        [[ " ${owned[*]} " == *" $f "* ]] || { rm -f "$f"; echo "removed $f"; }
    done
fi
put /opt/rb/VERSION 644 "$VERSION${CHANNEL:+ $CHANNEL}"
REMOTE
echo "deployed rb $version"
