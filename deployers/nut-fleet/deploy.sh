#!/bin/bash
# nut-fleet-deployer: configures Network UPS Tools on each host of the inventory, one after another.
# A host that cannot be reached or configured does not stop the others; the Job fails at the end, naming it.
#
#   deploy.sh          configure every host
#   deploy.sh check    the drift check: a line "DRIFT <file or unit>: <what>" per difference, exit 1 if any host
#                      differs or cannot be checked
#
# Environment:
#   INVENTORY             file of host addresses, one a line, '#' comments (default: /etc/nut-fleet/hosts.txt)
#   SSH_KEY_FILE          private key (default: /etc/deployer/ssh/id_ed25519)
#   KNOWN_HOSTS_FILE      the hosts' own keys, pinned (default: /etc/deployer/known_hosts/known_hosts)
#   NUT_ADMIN_PASSWORD    password of the upsd "admin" user (required, Secret)
#   NUT_MONITOR_PASSWORD  password of the upsd "upsmon" user (required, Secret)
set -uo pipefail
action=${1:-deploy}

INVENTORY=${INVENTORY:-/etc/nut-fleet/hosts.txt}
KEY=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
KNOWN_HOSTS=${KNOWN_HOSTS_FILE:-/etc/deployer/known_hosts/known_hosts}
VERSION=$(cat /app/VERSION)
: "${NUT_ADMIN_PASSWORD:?NUT_ADMIN_PASSWORD is not set (expected from Secret nut-fleet-secrets)}"
: "${NUT_MONITOR_PASSWORD:?NUT_MONITOR_PASSWORD is not set (expected from Secret nut-fleet-secrets)}"
[[ -r $INVENTORY ]] || { echo "inventory $INVENTORY not found (is the nut-fleet-inventory ConfigMap mounted?)" >&2; exit 2; }

mapfile -t hosts < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$INVENTORY" | grep -v '^$')
(( ${#hosts[@]} )) || { echo "inventory $INVENTORY names no host" >&2; exit 2; }

ssh_opts=(-i "$KEY" -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes
    -o "UserKnownHostsFile=$KNOWN_HOSTS" -o LogLevel=ERROR)

converged=() failed=()
echo "nut-fleet $VERSION: ${#hosts[@]} hosts"
for host in "${hosts[@]}"; do
    echo "==> $host"
    # One connection a host: the passwords go on stdin, never on a command line.
    if { printf '%s\n%s\n%s\n%s\n' "$NUT_ADMIN_PASSWORD" "$NUT_MONITOR_PASSWORD" "$VERSION" "$action"
        cat /app/configure-host.sh; } \
        | ssh "${ssh_opts[@]}" "root@$host" 'bash -c "IFS= read -r admin; IFS= read -r monitor; IFS= read -r version; IFS= read -r action; export admin monitor version action; exec bash -s"' \
        | sed "s/^/    /"; then
        converged+=("$host")
    else
        if [[ $action == check ]]; then echo "    $host differs, or could not be checked"; else echo "    FAILED: $host was not configured"; fi
        failed+=("$host")
    fi
done

echo "converged: ${converged[*]:-none}"
if (( ${#failed[@]} )); then
    echo "failed: ${failed[*]}"
    exit 1
fi
