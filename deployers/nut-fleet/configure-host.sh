# Runs on each host (bash -s, as root) with $admin, $monitor, $version and $action set: NUT's files, the .env, the
# cron entry, the units. Files are only rewritten when their content differs; NUT restarts only when they changed.
# With action=check nothing changes: a line "DRIFT <file or unit>: <what>" for each difference, exit 1 if any.
# shellcheck disable=SC2154  # admin, monitor, version and action: deploy.sh reads them from stdin before this script
set -euo pipefail
base=/opt/nut-fleet
changed=0 drifted=0
UNITS=(nut-driver.target nut-driver@ups.service nut-server.service nut-monitor.service)

# put PATH MODE OWNER:GROUP: the file from stdin, when it differs (content, then mode and owner); checked only
put() {
    local path=$1 mode=$2 owner=$3 tmp
    if [[ $action == check ]]; then
        if [[ -L $path || ! -f $path ]]; then
            cat >/dev/null
            echo "DRIFT $path: missing"; drifted=1; return 0
        fi
        cmp -s - "$path" || { echo "DRIFT $path: content"; drifted=1; }
        [[ $(stat -c '%a %U:%G' "$path") == "${mode#0} $owner" ]] || { echo "DRIFT $path: mode or owner"; drifted=1; }
        return 0
    fi
    tmp=$(mktemp "$(dirname "$path")/.nut-fleet.XXXXXX")
    cat >"$tmp" || { rm -f "$tmp"; return 1; }
    if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$path" || { rm -f "$tmp"; return 1; }
        echo "changed $path"
        changed=1
    fi
    if [[ $(stat -c '%a %U:%G' "$path") != "${mode#0} $owner" ]]; then
        chmod "$mode" "$path" && chown "$owner" "$path"
        echo "fixed $path"
    fi
}

dpkg -s nut >/dev/null 2>&1 || { echo "nut is not installed on $(hostname)" >&2; exit 1; }
[[ $action == check ]] || install -d -m 0755 "$base"

put /etc/nut/nut.conf 0640 root:nut <<<'MODE=netserver'
put /etc/nut/ups.conf 0640 root:nut <<'CONF'
maxretry = 3

[ups]
	driver = usbhid-ups
	port = auto
	desc = "UPS of this Proxmox host"
CONF
put /etc/nut/upsd.conf 0640 root:nut <<<'LISTEN 127.0.0.1 3493'
put /etc/nut/upsd.users 0640 root:nut <<CONF
[admin]
	password = $admin
	actions = SET
	instcmds = ALL

[upsmon]
	password = $monitor
	upsmon primary
CONF
put /etc/nut/upsmon.conf 0640 root:nut <<CONF
MONITOR ups@localhost 1 upsmon $monitor primary
MINSUPPLIES 1
SHUTDOWNCMD "/sbin/shutdown -h +0"
POWERDOWNFLAG /etc/killpower
CONF
put "$base/.env" 0600 root:root <<CONF
NUT_ADMIN_PASSWORD=$admin
NUT_MONITOR_PASSWORD=$monitor
CONF
put /etc/cron.d/nut-fleet 0644 root:root <<'CONF'
*/10 * * * * root upsc ups@localhost ups.status >/dev/null 2>&1 || logger -t nut-fleet "upsd does not answer"
CONF

if [[ $action == check ]]; then
    for unit in "${UNITS[@]}"; do
        systemctl is-enabled --quiet "$unit" || { echo "DRIFT $unit: not enabled"; drifted=1; }
        systemctl is-active --quiet "$unit" || { echo "DRIFT $unit: not running"; drifted=1; }
    done
    put "$base/.version" 0644 root:root <<<"$version"
    (( drifted )) || echo "$(hostname): no drift"
    exit "$drifted"
fi
if (( changed )); then
    systemctl stop nut-monitor.service nut-server.service
    systemctl restart nut-driver-enumerator.service
    systemctl restart nut-driver.target
    echo "restarted NUT"
fi
systemctl enable --quiet "${UNITS[@]}"
systemctl start "${UNITS[@]}"
for _ in $(seq 30); do
    status=$(upsc ups@localhost ups.status 2>/dev/null || true)
    [[ -n $status && $status != WAIT ]] && break
    sleep 1
done
[[ -n $status && $status != WAIT ]] || { echo "upsd does not report ups@localhost" >&2; exit 1; }
put "$base/.version" 0644 root:root <<<"$version"
echo "$(hostname): ups.status $status"
