#!/bin/bash
# node-configurator: a privileged DaemonSet pod with the node's / at /host. It installs a package, sets
# kernel parameters, deploys the node agent and its configuration, then checks everything again every
# INTERVAL_SECONDS and repairs what drifted (hand edits, a stopped service).
#
# Environment:
#   NODE_NAME          the node (Downward API: spec.nodeName)
#   HOST_ROOT          where the node's / is mounted (default /host)
#   INTERVAL_SECONDS   seconds between checks (default 300)
#   PACKAGES           Debian packages every node needs (default: conntrack)
#   AGENT_CONFIG       the agent's configuration (a ConfigMap file)
set -uo pipefail

HOST=${HOST_ROOT:-/host}
INTERVAL=${INTERVAL_SECONDS:-300}
PACKAGES=${PACKAGES:-conntrack}
AGENT_CONFIG=${AGENT_CONFIG:-/etc/node-configurator/agent.conf}
NODE=${NODE_NAME:-unknown}
APP=$(cd "$(dirname "$0")" && pwd)

log() { printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "$NODE" "$*"; }
on_host() { chroot "$HOST" "$@"; }

# put SRC DEST MODE: install SRC at DEST on the node (root's) when the content, mode or owner differs; says
# whether it did.
put() {
    local src=$1 dest=$HOST$2 mode=$3
    if [[ -f $dest && ! -L $dest ]] && cmp -s "$src" "$dest" && [[ $(stat -c '%a %u %g' "$dest") == "${mode#0} 0 0" ]]; then
        return 1
    fi
    mkdir -p "$(dirname "$dest")"
    install -m "$mode" "$src" "$dest.node-configurator.tmp" && mv -f "$dest.node-configurator.tmp" "$dest"
    log "wrote $2"
}

ensure_packages() {
    local missing=() package
    for package in $PACKAGES; do
        on_host dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    (( ${#missing[@]} )) || return 0
    log "installing ${missing[*]}"
    on_host env DEBIAN_FRONTEND=noninteractive apt-get -q -o Acquire::Retries=2 install -y "${missing[@]}" \
        >/tmp/apt.log 2>&1 \
        || { on_host apt-get -q update >>/tmp/apt.log 2>&1 \
             && on_host env DEBIAN_FRONTEND=noninteractive apt-get -q install -y "${missing[@]}" >>/tmp/apt.log 2>&1; } \
        || { log "apt-get failed:"; tail -n 5 /tmp/apt.log; return 1; }
}

ensure_sysctl() {
    local file=/etc/sysctl.d/99-node-configurator.conf key value current drifted=no
    put "$APP/configs/99-node-configurator.conf" "$file" 0644 && drifted=yes
    while IFS='=' read -r key value; do
        key=$(echo "$key" | xargs) value=$(echo "$value" | xargs)
        [[ -z $key || $key == \#* ]] && continue
        current=$(on_host sysctl -n "$key" 2>/dev/null | xargs)
        [[ $current == "$value" ]] || drifted=yes
    done < "$APP/configs/99-node-configurator.conf"
    if [[ $drifted == yes ]]; then
        on_host sysctl -q -p "$file" && log "applied $file"
    fi
}

ensure_agent() {
    local changed=no
    put "$APP/configs/node-agent" /usr/local/bin/node-agent 0755 && changed=yes
    { cat "$AGENT_CONFIG"; printf 'NODE_NAME=%s\n' "$NODE"; } > /tmp/agent.conf
    put /tmp/agent.conf /etc/node-agent/agent.conf 0644 && changed=yes
    if put "$APP/configs/node-agent.service" /etc/systemd/system/node-agent.service 0644; then
        on_host systemctl daemon-reload
        changed=yes
    fi
    on_host systemctl is-enabled --quiet node-agent.service || { on_host systemctl enable --quiet node-agent.service \
        && log "enabled node-agent.service"; }
    if [[ $changed == yes ]]; then
        on_host systemctl restart node-agent.service && log "restarted node-agent.service"
    elif ! on_host systemctl is-active --quiet node-agent.service; then
        on_host systemctl start node-agent.service && log "started node-agent.service"
    fi
}

log "node-configurator $(cat "$APP/VERSION" 2>/dev/null || echo dev): every ${INTERVAL}s"
while :; do
    if ensure_packages && ensure_sysctl && ensure_agent; then
        touch /tmp/converged  # the readiness probe: this node is configured
    else
        rm -f /tmp/converged
        log "not converged; trying again in ${INTERVAL}s"
    fi
    sleep "$INTERVAL"
done
