#!/bin/bash
# ansible-nut-deployer: runs the nut role (roles/nut) against one Proxmox VE host with ansible-playbook.
#
#   deploy.sh          apply the role
#   deploy.sh check    the drift check: the role in check mode; exit 1 when a task would change something
#
# Environment:
#   TARGET_HOST           host to configure (required)
#   TARGET_USER           SSH user (default: root)
#   SSH_KEY_FILE          private key (default: /etc/deployer/ssh/id_ed25519)
#   KNOWN_HOSTS_FILE      the host's own keys, pinned (default: /etc/deployer/known_hosts/known_hosts)
#   NUT_ADMIN_PASSWORD    password of the upsd "admin" user (required, Secret)
#   NUT_MONITOR_PASSWORD  password of the upsd "upsmon" user (required, Secret)
#   PLAYBOOK              the playbook to run (default: /app/site.yml)
set -euo pipefail

action=${1:-deploy}
: "${TARGET_HOST:?TARGET_HOST is not set}"
: "${NUT_ADMIN_PASSWORD:?NUT_ADMIN_PASSWORD is not set (expected from Secret ansible-nut-secrets)}"
: "${NUT_MONITOR_PASSWORD:?NUT_MONITOR_PASSWORD is not set (expected from Secret ansible-nut-secrets)}"
SSH_KEY_FILE=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
KNOWN_HOSTS_FILE=${KNOWN_HOSTS_FILE:-/etc/deployer/known_hosts/known_hosts}
[[ -s $KNOWN_HOSTS_FILE ]] || { echo "host keys $KNOWN_HOSTS_FILE not found (is the known-hosts Secret mounted?)" >&2; exit 2; }

export ANSIBLE_CONFIG=/app/ansible.cfg
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=$KNOWN_HOSTS_FILE -o StrictHostKeyChecking=yes"
playbook=(ansible-playbook -i "$TARGET_HOST," -u "${TARGET_USER:-root}" --private-key "$SSH_KEY_FILE"
    -e "nut_version=$(cat /app/VERSION)" "${PLAYBOOK:-/app/site.yml}")

if [[ $action != check ]]; then
    exec "${playbook[@]}"
fi
# The drift check: what the role would change is drift. Ansible exits 0 either way; its recap counts.
set +e
out=$("${playbook[@]}" --check 2>&1)
code=$?
set -e
printf '%s\n' "$out"
(( code == 0 )) || { echo "ansible-playbook --check failed (exit $code): drift not checked"; exit 2; }
# A line for each task (and loop item) that would change: the task's name says what it manages.
drift=$(awk '
    /^TASK \[/ { task = $0; sub(/^TASK \[([^]:]*: )?/, "", task); sub(/\] \**$/, "", task); next }
    /^(RUNNING HANDLER|PLAY)/ { task = ""; next }
    /^changed: / && task != "" {
        item = ""
        if (match($0, /\(item=[^)]*\)/)) item = ": " substr($0, RSTART + 6, RLENGTH - 7)
        print "DRIFT " task item
    }' <<<"$out")
if [[ -n $drift ]] || grep -Eq ' changed=[1-9]' <<<"$out"; then
    printf '%s\n' "${drift:-DRIFT: the role would change something (see the output above)}"
    exit 1
fi
echo "no drift"
