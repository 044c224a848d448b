#!/bin/bash
# pve-nut-deployer: configures Network UPS Tools (NUT) on a Proxmox VE host
# so that it shuts down cleanly when the UPS runs out of battery.
#
# Runs as a Kubernetes Job (see k8s/job.yaml) and talks to the host over SSH.
#
# Environment:
#   TARGET_HOST           host to configure (required)
#   TARGET_USER           SSH user (default: root; anything else needs passwordless sudo)
#   TARGET_PORT           SSH port (default: 22)
#   SSH_KEY_FILE          private key (default: /etc/deployer/ssh/id_ed25519)
#   KNOWN_HOSTS_FILE      the host's own keys, pinned (default: /etc/deployer/known_hosts/known_hosts)
#   NUT_ADMIN_PASSWORD    password of the upsd "admin" user (required, Secret)
#   NUT_MONITOR_PASSWORD  password of the upsd "upsmon" user (required, Secret)
#   NOTIFY_URL            optional webhook for UPS events (Secret)
#   UPS_WAIT_SECONDS      how long to wait for upsd to report the UPS (default: 60)
#
# Safe to run again: files are only rewritten when their content differs,
# services are only restarted when their configuration changed.
set -Eeuo pipefail

APP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=$(cat "$APP_DIR/VERSION" 2>/dev/null || echo "0.0.0-dev")

TARGET_HOST=${TARGET_HOST:-}
TARGET_USER=${TARGET_USER:-root}
TARGET_PORT=${TARGET_PORT:-22}
SSH_KEY_FILE=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
KNOWN_HOSTS_FILE=${KNOWN_HOSTS_FILE:-/etc/deployer/known_hosts/known_hosts}
NUT_ADMIN_PASSWORD=${NUT_ADMIN_PASSWORD:-}
NUT_MONITOR_PASSWORD=${NUT_MONITOR_PASSWORD:-}
NOTIFY_URL=${NOTIFY_URL:-}
UPS_WAIT_SECONDS=${UPS_WAIT_SECONDS:-60}

UPS_NAME=ups@localhost
BASE_DIR=/opt/pve-nut
NUT_DIR=/etc/nut
CRON_FILE=/etc/cron.d/pve-nut
STATUS_LINK=/usr/local/bin/pve-nut-status

STEP=init
WORK_DIR=
REMOTE_STAGE=
SSH_OPEN=no

# ---------------------------------------------------------------- logging

ts() { date -u '+%Y-%m-%dT%H:%M:%SZ'; }
log() { printf '%s [%s] %s\n' "$(ts)" "$STEP" "$*"; }
warn() { printf '%s [%s] WARNING: %s\n' "$(ts)" "$STEP" "$*" >&2; }
ACTION=DEPLOY
DIE_STATUS=1  # check-drift.sh: 2 when it cannot check (1 means drift)
die() { printf '%s [%s] ERROR: %s\n' "$(ts)" "$STEP" "$*" >&2; exit "$DIE_STATUS"; }

on_err() {
    printf '%s [%s] ERROR: command failed with exit code %s (%s line %s)\n' \
        "$(ts)" "$STEP" "$1" "${BASH_SOURCE[1]##*/}" "$2" >&2
}
trap 'on_err $? $LINENO' ERR

cleanup() {
    local rc=$?
    trap - ERR
    set +e
    if [[ -n $REMOTE_STAGE && $SSH_OPEN == yes ]]; then
        remote "rm -rf '$REMOTE_STAGE'" >/dev/null 2>&1
    fi
    if [[ $SSH_OPEN == yes ]]; then
        ssh "${SSH_OPTS[@]}" -O exit "$TARGET_USER@$TARGET_HOST" >/dev/null 2>&1
    fi
    [[ -n $WORK_DIR ]] && rm -rf "$WORK_DIR"
    if (( rc != 0 )); then
        printf '%s [%s] %s FAILED (exit %s) on %s\n' "$(ts)" "$STEP" "$ACTION" "$rc" "${TARGET_HOST:-?}" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- ssh helpers

SSH_OPTS=(
    -o BatchMode=yes
    -o StrictHostKeyChecking=yes
    -o "UserKnownHostsFile=$KNOWN_HOSTS_FILE"
    -o LogLevel=ERROR
    -o ConnectTimeout=10
    -o ServerAliveInterval=15
    -o ServerAliveCountMax=4
    -o ControlMaster=auto
    -o ControlPath=/tmp/ssh-%r@%h:%p
    -o ControlPersist=60
    -o "Port=$TARGET_PORT"
    -i "$SSH_KEY_FILE"
)
SUDO=
[[ $TARGET_USER != root ]] && SUDO="sudo -n"

# remote CMD: run one shell command line on the host (as root).
# shellcheck disable=SC2029  # expanding on the client side is the point
remote() {
    ssh "${SSH_OPTS[@]}" "$TARGET_USER@$TARGET_HOST" "$SUDO sh -c $(printf '%q' "$1")"
}

# remote_script ARGS... <<'EOF' ... EOF: run a bash script (stdin) on the host as root.
remote_script() {
    local args
    args=$(printf ' %q' "$@")
    # shellcheck disable=SC2029
    ssh "${SSH_OPTS[@]}" "$TARGET_USER@$TARGET_HOST" "$SUDO bash -s --$args"
}

# Helpers shared by the remote scripts. Each reports what it did on stdout:
#   CHANGED <path>   content (or link target) written
#   FIXED <path>     content was right, owner or mode corrected
REMOTE_LIB=$(cat <<'EOF'
set -euo pipefail

# put_file SRC DEST MODE OWNER GROUP: install atomically, only if different.
put_file() {
    local src=$1 dest=$2 mode=$3 owner=$4 group=$5 tmp
    if [[ -f $dest && ! -L $dest ]] && cmp -s "$src" "$dest"; then
        if [[ $(stat -c '%a %U %G' "$dest") != "${mode#0} $owner $group" ]]; then
            chown "$owner:$group" "$dest"
            chmod "$mode" "$dest"
            echo "FIXED $dest"
        fi
        return 0
    fi
    tmp=$(mktemp "$(dirname "$dest")/.$(basename "$dest").XXXXXX")
    install -o "$owner" -g "$group" -m "$mode" "$src" "$tmp"
    mv -fT "$tmp" "$dest"
    echo "CHANGED $dest"
}

# put_dir PATH MODE OWNER GROUP
put_dir() {
    local dir=$1 mode=$2 owner=$3 group=$4
    if [[ -d $dir && ! -L $dir ]]; then
        if [[ $(stat -c '%a %U %G' "$dir") != "${mode#0} $owner $group" ]]; then
            chown "$owner:$group" "$dir"
            chmod "$mode" "$dir"
            echo "FIXED $dir/"
        fi
        return 0
    fi
    rm -f "$dir"
    install -d -o "$owner" -g "$group" -m "$mode" "$dir"
    echo "CHANGED $dir/"
}

# check_file SRC DEST MODE OWNER GROUP, check_dir PATH MODE OWNER GROUP, check_link TARGET LINK:
# what check-drift.sh compares. Each drift is a line "DRIFT <path>: <what>"; contents are never shown.
check_file() {
    local src=$1 dest=$2 want="${3#0} $4 $5" have
    if [[ -L $dest || ! -f $dest ]]; then echo "DRIFT $dest: missing or not a regular file"; return 0; fi
    cmp -s "$src" "$dest" || echo "DRIFT $dest: content differs from this version's"
    have=$(stat -c '%a %U %G' "$dest")
    [[ $have == "$want" ]] || echo "DRIFT $dest: mode and owner are '$have', expected '$want'"
}

check_dir() {
    local dir=$1 want="${2#0} $3 $4" have
    if [[ -L $dir || ! -d $dir ]]; then echo "DRIFT $dir/: missing or not a directory"; return 0; fi
    have=$(stat -c '%a %U %G' "$dir")
    [[ $have == "$want" ]] || echo "DRIFT $dir/: mode and owner are '$have', expected '$want'"
}

check_link() {
    local target=$1 link=$2
    if [[ ! -L $link ]]; then echo "DRIFT $link: not a symlink (expected one to $target)"; return 0; fi
    [[ $(readlink "$link") == "$target" ]] || echo "DRIFT $link: points to $(readlink "$link"), expected $target"
}

# put_link TARGET LINK
put_link() {
    local target=$1 link=$2 tmp
    if [[ -L $link && $(readlink "$link") == "$target" ]]; then
        return 0
    fi
    tmp="$(dirname "$link")/.$(basename "$link").tmp.$$"
    ln -sfn "$target" "$tmp"
    mv -fT "$tmp" "$link"
    echo "CHANGED $link"
}
EOF
)

# ---------------------------------------------------------------- steps

step() { STEP=$1; }

check_inputs() {
    step preflight
    log "pve-nut-deployer $VERSION"
    [[ -n $TARGET_HOST ]] || die "TARGET_HOST is not set"
    [[ -n $NUT_ADMIN_PASSWORD ]] || die "NUT_ADMIN_PASSWORD is not set (expected from Secret pve-nut-secrets)"
    [[ -n $NUT_MONITOR_PASSWORD ]] || die "NUT_MONITOR_PASSWORD is not set (expected from Secret pve-nut-secrets)"

    # NUT config files take the passwords unquoted: keep them to one safe token.
    local bad='[[:space:]"\\#'"'"']'
    local name
    for name in NUT_ADMIN_PASSWORD NUT_MONITOR_PASSWORD; do
        [[ ! ${!name} =~ $bad ]] \
            || die "$name contains whitespace, quotes, '\\' or '#', which NUT config files cannot hold"
    done
    if [[ -n $NOTIFY_URL && ! $NOTIFY_URL =~ ^https?://[^[:space:]]+$ ]]; then
        die "NOTIFY_URL must be an http(s) URL without spaces"
    fi
    [[ $UPS_WAIT_SECONDS =~ ^[0-9]+$ ]] || die "UPS_WAIT_SECONDS must be a number of seconds"

    [[ -f $SSH_KEY_FILE ]] || die "SSH key $SSH_KEY_FILE not found (is the pve-nut-ssh-key Secret mounted?)"
    [[ -s $KNOWN_HOSTS_FILE ]] || die "host keys $KNOWN_HOSTS_FILE not found (is the pve-nut-known-hosts Secret mounted?)"
    [[ -r $SSH_KEY_FILE ]] || die "SSH key $SSH_KEY_FILE is not readable by uid $(id -u)"
    local mode owner
    read -r mode owner < <(stat -L -c '%a %u' "$SSH_KEY_FILE")
    if [[ $owner == "$(id -u)" ]] && (( 8#$mode & 8#077 )); then
        die "SSH key $SSH_KEY_FILE has mode $mode; ssh refuses keys that group or others can read (mount the Secret with defaultMode 0600)"
    fi
    local tool
    for tool in ssh scp sed mktemp; do
        command -v "$tool" >/dev/null || die "required tool '$tool' is missing from the image"
    done
    log "target $TARGET_USER@$TARGET_HOST:$TARGET_PORT, key $SSH_KEY_FILE"
}

connect() {
    step connect
    WORK_DIR=$(umask 077 && mktemp -d /tmp/pve-nut.XXXXXX)
    # Open the shared connection up front; every later ssh/scp reuses it.
    if ! ssh "${SSH_OPTS[@]}" -o ControlMaster=yes -fN "$TARGET_USER@$TARGET_HOST" 2>"$WORK_DIR/ssh.err"; then
        die "cannot reach $TARGET_USER@$TARGET_HOST:$TARGET_PORT over SSH: $(tr '\n' ' ' <"$WORK_DIR/ssh.err")"
    fi
    SSH_OPEN=yes
    local uid
    uid=$(remote 'id -u') || die "cannot run commands on $TARGET_HOST"
    [[ $uid == 0 ]] || die "commands on $TARGET_HOST run as uid $uid, not root (TARGET_USER=$TARGET_USER needs passwordless sudo)"
    log "connected"

    local info
    # shellcheck disable=SC2016  # expands on the host
    info=$(remote '. /etc/os-release && echo "$PRETTY_NAME"; hostname; pveversion 2>/dev/null || echo "-"')
    log "host $(sed -n 2p <<<"$info"): $(sed -n 1p <<<"$info")"
    if [[ $(sed -n 3p <<<"$info") == "-" ]]; then
        warn "pveversion not found: $TARGET_HOST does not look like a Proxmox VE host, continuing anyway"
    else
        log "$(sed -n 3p <<<"$info")"
    fi
}

ensure_package() {
    step package
    if remote "dpkg -l | grep -q '^ii.*nut '"; then
        log "nut is installed ($(remote "dpkg-query -W -f='\${Version}' nut"))"
        return 0
    fi
    log "nut is not installed: installing it with apt-get"
    remote_script <<'EOF' || die "apt-get install nut failed on $TARGET_HOST"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
install_nut() { timeout 90 apt-get "${apt_opts[@]}" install -y nut; }
install_nut || { timeout 60 apt-get "${apt_opts[@]}" update && install_nut; }
EOF
    remote "dpkg -l | grep -q '^ii.*nut '" || die "nut is still not installed after apt-get"
    log "nut installed ($(remote "dpkg-query -W -f='\${Version}' nut"))"
}

# render SRC DEST: copy a template with the secret placeholders filled in.
render() {
    local content
    content=$(<"$1")
    # Quoted replacements: '&' and '\' in a password stay literal.
    content=${content//@NUT_ADMIN_PASSWORD@/"$NUT_ADMIN_PASSWORD"}
    content=${content//@NUT_MONITOR_PASSWORD@/"$NUT_MONITOR_PASSWORD"}
    printf '%s\n' "$content" >"$2"
    if grep -Eq '@[A-Z_]+@' "$2"; then
        die "unrendered placeholder left in $(basename "$1")"
    fi
}

render_bundle() {
    step render
    local bundle=$WORK_DIR/bundle f
    (umask 077 && mkdir -p "$bundle/nut" "$bundle/scripts")
    for f in "$APP_DIR"/configs/nut/*; do
        render "$f" "$bundle/nut/$(basename "$f")"
    done
    cp "$APP_DIR"/scripts/*.sh "$bundle/scripts/"
    cp "$APP_DIR/configs/cron.d/pve-nut" "$bundle/cron"
    {
        printf 'NUT_ADMIN_PASSWORD=%s\n' "$NUT_ADMIN_PASSWORD"
        printf 'NUT_MONITOR_PASSWORD=%s\n' "$NUT_MONITOR_PASSWORD"
        if [[ -n $NOTIFY_URL ]]; then printf 'NOTIFY_URL=%s\n' "$NOTIFY_URL"; fi
    } >"$bundle/env"
    # notify.sh runs as the nut user and cannot read .env: it gets the URL only.
    printf 'NOTIFY_URL=%s\n' "$NOTIFY_URL" >"$bundle/notify.conf"
    printf '%s\n' "$VERSION" >"$bundle/version"
    log "rendered $(find "$bundle" -type f | wc -l) files"
}

upload() {
    step upload
    REMOTE_STAGE=$(remote 'umask 077 && mktemp -d /tmp/pve-nut-deploy.XXXXXX')
    [[ $REMOTE_STAGE == /tmp/pve-nut-deploy.* ]] || die "could not create a staging directory on $TARGET_HOST"
    scp -q -r "${SSH_OPTS[@]}" "$WORK_DIR/bundle" "$TARGET_USER@$TARGET_HOST:$REMOTE_STAGE/" \
        || die "scp to $TARGET_HOST:$REMOTE_STAGE failed"
    log "uploaded to $TARGET_HOST:$REMOTE_STAGE"
}

# The files the deployer manages on the host, as one plan: deploy.sh installs it (put_*),
# check-drift.sh compares the host with it (check_*). It runs inside a remote script that
# defines managed_dir, managed_file and managed_link.
PLAN=$(cat <<'EOF'
stage=$1 base=$2 nutdir=$3 cron=$4 link=$5
managed_dir "$base" 0755 root root
managed_dir "$base/scripts" 0755 root root
# notify.sh runs as the nut user and appends to log/events.log
managed_dir "$base/log" 0775 root nut
for f in nut.conf ups.conf upsd.conf upsd.users upsmon.conf; do
    managed_file "$stage/nut/$f" "$nutdir/$f" 0640 root nut
done
for f in notify.sh status.sh battery-check.sh; do
    managed_file "$stage/scripts/$f" "$base/scripts/$f" 0755 root root
done
managed_link "$base/scripts/status.sh" "$link"
managed_file "$stage/env" "$base/.env" 0600 root root
managed_file "$stage/notify.conf" "$base/notify.conf" 0640 root nut
managed_file "$stage/cron" "$cron" 0644 root root
EOF
)

# remote_plan PREFIX: run the plan on the host with managed_* calling PREFIX_dir, PREFIX_file, PREFIX_link.
remote_plan() {
    remote_script "$REMOTE_STAGE/bundle" "$BASE_DIR" "$NUT_DIR" "$CRON_FILE" "$STATUS_LINK" <<EOF
$REMOTE_LIB
managed_dir() { $1_dir "\$@"; }
managed_file() { $1_file "\$@"; }
managed_link() { $1_link "\$@"; }
$PLAN
EOF
}

CHANGES=
install_files() {
    step install
    CHANGES=$(remote_plan put) || die "installing files on $TARGET_HOST failed"
    if [[ -z $CHANGES ]]; then
        log "all files up to date"
    else
        local line
        while read -r line; do log "$line"; done <<<"$CHANGES"
    fi
}

RESTARTED=()
configure_services() {
    step services
    local enumerate=no restart=no
    grep -q "^CHANGED $NUT_DIR/ups.conf$" <<<"$CHANGES" && enumerate=yes
    grep -Eq "^CHANGED $NUT_DIR/(nut.conf|ups.conf|upsd.conf|upsd.users|upsmon.conf)$" <<<"$CHANGES" && restart=yes
    [[ $enumerate == yes ]] && RESTARTED+=(nut-driver-enumerator)
    [[ $restart == yes ]] && RESTARTED+=(nut-driver.target nut-server nut-monitor)

    local out
    out=$(remote_script "$enumerate" "$restart" <<'EOF'
set -euo pipefail
enumerate=$1 restart=$2
drivers() { systemctl list-units --all --plain --no-legend 'nut-driver@*.service' | awk "$1"' {print $1}'; }

for unit in nut.target nut-server.service nut-monitor.service; do
    if ! systemctl is-enabled --quiet "$unit"; then
        systemctl enable --quiet "$unit"
        echo "enabled $unit"
    fi
done

if [[ $enumerate == yes ]]; then
    # ups.conf changed: the enumerator (re)creates the nut-driver@<ups> units.
    systemctl restart nut-driver-enumerator.service
    echo "restarted nut-driver-enumerator.service"
fi

# The enumerator enables one nut-driver@<ups> unit per [section] of ups.conf: keep them and their
# target enabled, or no driver starts at boot and the host never learns that the power failed.
for unit in nut-driver.target $(sed -n 's/^\[\(.*\)\][[:space:]]*$/nut-driver@\1.service/p' /etc/nut/ups.conf); do
    if ! systemctl is-enabled --quiet "$unit"; then
        systemctl enable --quiet "$unit"
        echo "enabled $unit"
    fi
done

if [[ $restart == yes ]]; then
    # Drivers, upsd and upsmon go down and come up together, in order. A driver
    # that outlives a upsd restart keeps the old upsd's socket, and NUT 2.8.0
    # drivers can abort when they later write to it.
    systemctl stop nut-monitor.service nut-server.service
    units=$(drivers 1)
    # Naming the instances makes systemctl wait until each driver is up.
    # shellcheck disable=SC2086
    if ! systemctl restart nut-driver.target $units; then
        echo "WARNING: driver(s) failed to start:" $units
    fi
    systemctl start nut-server.service nut-monitor.service
    echo "restarted nut-driver.target" $units "nut-server.service nut-monitor.service"
    exit 0
fi

# Configuration unchanged: only start what is not running.
stopped=$(drivers '$3 != "active"')
if [[ -n $stopped ]]; then
    # shellcheck disable=SC2086
    systemctl start nut-driver.target $stopped || echo "WARNING: driver(s) failed to start:" $stopped
    echo "started" $stopped
fi
for unit in nut-server.service nut-monitor.service; do
    if ! systemctl is-active --quiet "$unit"; then
        systemctl start "$unit"
        echo "started $unit"
    fi
done
EOF
    ) || die "systemctl failed on $TARGET_HOST"
    if [[ -n $out ]]; then
        local line
        while read -r line; do
            if [[ $line == WARNING:* ]]; then warn "${line#WARNING: }"; else log "$line"; fi
        done <<<"$out"
    else
        log "services already enabled and running, configuration unchanged: nothing restarted"
    fi
}

UPS_STATUS=
wait_for_ups() {
    step verify
    local deadline=$((SECONDS + UPS_WAIT_SECONDS))
    # The driver reports WAIT until it has read the UPS for the first time.
    until UPS_STATUS=$(remote "upsc $UPS_NAME ups.status 2>/dev/null") \
            && [[ -n $UPS_STATUS && $UPS_STATUS != WAIT ]]; do
        if (( SECONDS >= deadline )); then
            warn "diagnostics from $TARGET_HOST:"
            remote "systemctl --no-pager --lines=10 status 'nut-driver@*' nut-server nut-monitor 2>&1; upsc $UPS_NAME 2>&1 | head -n 3" >&2 || true
            die "upsd did not report $UPS_NAME within ${UPS_WAIT_SECONDS}s"
        fi
        sleep 2
    done
    log "$UPS_NAME reports ups.status=$UPS_STATUS"
    [[ " $UPS_STATUS " == *" OL "* ]] || warn "$UPS_NAME is not on line power (ups.status=$UPS_STATUS)"
    local svc
    for svc in nut-server nut-monitor; do
        remote "systemctl is-active --quiet $svc" || die "$svc is not running on $TARGET_HOST"
    done
    log "nut-server and nut-monitor are running"
}

finish() {
    step finalize
    local out
    out=$(remote_script "$REMOTE_STAGE/bundle" "$BASE_DIR" <<EOF
$REMOTE_LIB
put_file "\$1/version" "\$2/.version" 0644 root root
EOF
    ) || die "writing $BASE_DIR/.version failed"
    [[ -n $out ]] && log "$out"

    step summary
    local n_changed=0
    [[ -n $CHANGES ]] && n_changed=$(grep -c . <<<"$CHANGES")
    log "host:        $TARGET_HOST"
    log "version:     $VERSION"
    log "files:       $n_changed changed or fixed"
    log "restarted:   ${RESTARTED[*]:-none}"
    log "UPS status:  $UPS_STATUS"
    log "deploy OK"
}

main() {
    check_inputs
    connect
    ensure_package
    render_bundle
    upload
    install_files
    configure_services
    wait_for_ups
    finish
}

# check-drift.sh sources this file for its functions; only a direct run deploys.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
