#!/bin/bash
# pve-exporter deployer: installs a pve-exporter release on a Proxmox VE host and runs it as a service.
#
# The host downloads the release from GitHub (the Job's pod needs only SSH), checks its SHA-256, and installs the
# binary, the unit and /etc/default/pve-exporter (mode 600: it holds the token) where they differ. The service
# restarts only when one of them changed. A download that fails, or does not match, fails the Job and leaves the
# installed release as it was.
#
# Environment: TARGET_HOST, RELEASE_URL, RELEASE_SHA256, PVE_EXPORTER_TOKEN (Secret); SSH_KEY_FILE (default
# /etc/deployer/ssh/id_ed25519); KNOWN_HOSTS_FILE (the host's keys, pinned; default
# /etc/deployer/known_hosts/known_hosts); INTERVAL (seconds between two metrics writes, default 15).
set -Eeuo pipefail
: "${TARGET_HOST:?}" "${RELEASE_URL:?}" "${RELEASE_SHA256:?}" "${PVE_EXPORTER_TOKEN:?}"
SSH_KEY_FILE=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
KNOWN_HOSTS_FILE=${KNOWN_HOSTS_FILE:-/etc/deployer/known_hosts/known_hosts}
INTERVAL=${INTERVAL:-15}
[[ $INTERVAL =~ ^[0-9]+$ ]] || { echo "INTERVAL must be a number of seconds" >&2; exit 1; }
[[ $RELEASE_SHA256 =~ ^[0-9a-f]{64}$ ]] || { echo "RELEASE_SHA256 must be a SHA-256 in hex" >&2; exit 1; }

SSH_OPTS=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS_FILE" -o LogLevel=ERROR
    -o ConnectTimeout=10 -o ControlMaster=auto -o ControlPath=/tmp/ssh-%r@%h:%p -o ControlPersist=30
    -i "$SSH_KEY_FILE")
log() { printf '%s %s\n' "$(date -u +%H:%M:%SZ)" "$*"; }
local_stage=
finish() {
    local rc=$?
    ssh "${SSH_OPTS[@]}" -O exit "root@$TARGET_HOST" >/dev/null 2>&1 || true
    [[ -n $local_stage ]] && rm -rf "$local_stage"
    ((rc == 0)) || log "deploy FAILED (exit $rc) on $TARGET_HOST"
    exit "$rc"
}
trap finish EXIT

log "pve-exporter: $RELEASE_URL to $TARGET_HOST"
ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -fN "root@$TARGET_HOST"

# The unit and the environment (with the token: never on a command line) go over scp, readable by root only.
local_stage=$(umask 077 && mktemp -d)
cp /app/configs/pve-exporter.service "$local_stage/unit"
printf 'PVE_EXPORTER_TOKEN=%s\nPVE_EXPORTER_INTERVAL=%s\n' "$PVE_EXPORTER_TOKEN" "$INTERVAL" >"$local_stage/env"
stage=$(ssh "${SSH_OPTS[@]}" "root@$TARGET_HOST" 'umask 077 && mktemp -d /tmp/pve-exporter.XXXXXX')
scp -q "${SSH_OPTS[@]}" "$local_stage/unit" "$local_stage/env" "root@$TARGET_HOST:$stage/"

# shellcheck disable=SC2029  # the arguments expand here, quoted for the host's shell
ssh "${SSH_OPTS[@]}" "root@$TARGET_HOST" "bash -s --$(printf ' %q' "$stage" "$RELEASE_URL" "$RELEASE_SHA256")" <<'EOF'
set -euo pipefail
stage=$1 url=$2 sha=$3
trap 'rm -rf "$stage"' EXIT
curl -fsSL --retry 2 --max-time 120 -o "$stage/release.tar.gz" "$url"
echo "$sha  $stage/release.tar.gz" | sha256sum --check --quiet
tar -xzf "$stage/release.tar.gz" -C "$stage" pve-exporter

# put SRC DEST MODE: installed in one rename, only where the content or the mode differs.
put() {
    if [[ -f $2 && ! -L $2 ]] && cmp -s "$1" "$2" && [[ $(stat -c '%a %U' "$2") == "$3 root" ]]; then
        return 0
    fi
    install -o root -g root -m "$3" "$1" "$2.new"
    mv -f "$2.new" "$2"
    echo "changed $2"
}
changed=$(
    put "$stage/pve-exporter" /usr/local/bin/pve-exporter 755
    put "$stage/unit" /etc/systemd/system/pve-exporter.service 644
    put "$stage/env" /etc/default/pve-exporter 600
)
if [[ -n $changed ]]; then
    echo "$changed"
fi
if grep -q '\.service$' <<<"$changed"; then
    systemctl daemon-reload
fi
if ! systemctl is-enabled --quiet pve-exporter.service; then
    systemctl enable --quiet pve-exporter.service
    echo "enabled pve-exporter.service"
fi
if [[ -n $changed ]]; then
    systemctl restart pve-exporter.service
    echo "restarted pve-exporter.service"
elif ! systemctl is-active --quiet pve-exporter.service; then
    systemctl start pve-exporter.service
    echo "started pve-exporter.service"
fi
systemctl is-active --quiet pve-exporter.service
echo "$(/usr/local/bin/pve-exporter --version) is running"
EOF
log "deploy OK"
