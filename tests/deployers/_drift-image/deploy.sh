#!/bin/bash
# A Job + SSH deployer with a drift check: `deploy.sh` deploys, `deploy.sh check` compares (exit 1 on drift,
# a "DRIFT <item>: <what>" line each). What it manages on the host: /etc/drift/app.conf (0640, with a
# secret), /var/lib/drift/run.sh (a folder beside the harness's own, /var/lib/harness) and the link
# /usr/local/bin/drift-run to it, /etc/cron.d/drift, and drift.service (enabled, running). Wrong on purpose when the Job says so:
#   FLAW=keep-mode  the deploy rewrites content only: a changed mode or owner stays (not healed)
#   FLAW=own-address  the deploy also writes the address it reached the host at to /etc/drift/listen, which the
#                   check does not look at (a copy of the host at another address ends up different)
#   CHECK=blind     the check always passes
#   CHECK=vague     the check fails on drift without saying what drifted
set -euo pipefail
action=${1:-deploy}
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
echo "drift deployer: $action on $TARGET_HOST (flaw: ${FLAW:-none}, check: ${CHECK:-exact})"
if [[ $action == check && ${CHECK:-} == blind ]]; then
    echo "no drift"  # never looks
    exit 0
fi
set +e
out=$(ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "ACTION=$action FLAW='${FLAW:-none}' TARGET='$TARGET_HOST' API_TOKEN='$API_TOKEN' bash -s" <<'REMOTE'
set -euo pipefail
# manage PATH MODE OWNER CONTENT: deploy writes it (content, then mode and owner); check compares.
manage() {
    local path=$1 mode=$2 owner=$3 content=$4
    if [[ $ACTION == check ]]; then
        if [[ -L $path || ! -f $path ]]; then echo "DRIFT $path: missing"; return 0; fi
        [[ $(cat "$path") == "$content" ]] || echo "DRIFT $path: content"
        [[ $(stat -c '%a %U' "$path") == "$mode $owner" ]] || echo "DRIFT $path: mode or owner $(stat -c '%a %U' "$path")"
        return 0
    fi
    if [[ -L $path || ! -f $path || $(cat "$path") != "$content" ]]; then
        rm -f "$path" && printf '%s\n' "$content" > "$path" && chmod "$mode" "$path" && chown "$owner" "$path"
        echo "changed $path"
    elif [[ $FLAW != keep-mode && $(stat -c '%a %U' "$path") != "$mode $owner" ]]; then
        chmod "$mode" "$path" && chown "$owner" "$path"
        echo "fixed $path"
    fi
}
link() {
    if [[ $ACTION == check ]]; then
        [[ -L $2 && $(readlink "$2") == "$1" ]] || echo "DRIFT $2: not a link to $1"
    elif [[ ! -L $2 || $(readlink "$2") != "$1" ]]; then
        rm -f "$2" && ln -s "$1" "$2" && echo "changed $2"
    fi
}
[[ $ACTION == check ]] || install -d -m 0755 /etc/drift /var/lib/drift
manage /etc/drift/app.conf 640 root "listen = 8080
token = $API_TOKEN"
manage /var/lib/drift/run.sh 755 root '#!/bin/sh
exec sleep infinity'
link /var/lib/drift/run.sh /usr/local/bin/drift-run
[[ $ACTION == check || $FLAW != own-address ]] || manage /etc/drift/listen 644 root "listen = $TARGET:8080"
manage /etc/cron.d/drift 644 root '*/15 * * * * root /usr/local/bin/drift-run --once'
manage /etc/systemd/system/drift.service 644 root '[Unit]
Description=drift test service
[Service]
ExecStart=/usr/local/bin/drift-run
[Install]
WantedBy=multi-user.target'
if [[ $ACTION == check ]]; then
    systemctl is-enabled --quiet drift.service || echo "DRIFT drift.service: not enabled"
    systemctl is-active --quiet drift.service || echo "DRIFT drift.service: not running"
    exit 0
fi
systemctl daemon-reload
systemctl is-enabled --quiet drift.service || { systemctl enable --quiet drift.service; echo "enabled drift.service"; }
systemctl is-active --quiet drift.service || { systemctl start drift.service; echo "started drift.service"; }
REMOTE
)
code=$?
set -e
(( code == 0 )) || { printf '%s\n' "$out"; echo "ssh to $TARGET_HOST failed (exit $code)"; exit 2; }
if [[ $action == check && $out == *DRIFT* ]]; then
    if [[ ${CHECK:-} == vague ]]; then echo "drift found"; else printf '%s\n' "$out"; fi
    exit 1
fi
printf '%s\n' "${out:-nothing to do}"
