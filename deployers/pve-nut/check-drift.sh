#!/bin/bash
# pve-nut drift check: compares the host with what this image deploys, without changing it.
#   - the nut package is installed;
#   - every file, directory and link deploy.sh installs (the same plan): content, mode, owner, group;
#   - the version stamp /opt/pve-nut/.version and the cron entries (/etc/cron.d/pve-nut is a managed file);
#   - nut.target, nut-driver.target, the drivers (one per UPS in ups.conf), nut-server and nut-monitor are
#     enabled, and all but nut.target are running.
# Exit 0: no drift. Exit 1: drift, one "DRIFT <item>: <what>" line each. Exit 2: the check could not run.
# Runs as the CronJob in k8s/drift-check.yaml, with the same env, Secrets and SSH key as the Job.
set -Eeuo pipefail
# shellcheck source=deploy.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy.sh"
ACTION="DRIFT CHECK"
DIE_STATUS=2

# Runs on the host: what is not a file of the plan.
remote_checks() {
    local stage=$1 base=$2 unit
    # dpkg-query prints one short line: no early-closed pipe for pipefail to trip on
    dpkg-query -W -f='${db:Status-Abbrev}' nut 2>/dev/null | grep -q '^ii' || echo "DRIFT package nut: not installed"
    check_file "$stage/version" "$base/.version" 0644 root root
    local drivers
    drivers=$(sed -n 's/^\[\(.*\)\][[:space:]]*$/nut-driver@\1.service/p' /etc/nut/ups.conf 2>/dev/null || true)
    for unit in nut.target nut-driver.target $drivers nut-server.service nut-monitor.service; do
        systemctl is-enabled --quiet "$unit" || echo "DRIFT $unit: not enabled"
    done
    for unit in nut-driver.target $drivers nut-server.service nut-monitor.service; do
        systemctl is-active --quiet "$unit" || echo "DRIFT $unit: not running"
    done
}

compare_host() {
    step compare
    remote_script "$REMOTE_STAGE/bundle" "$BASE_DIR" <<END
$REMOTE_LIB
$(declare -f remote_checks)
remote_checks "\$1" "\$2"
END
}

check_drift() {
    check_inputs
    connect
    render_bundle
    upload
    local drift
    drift=$(remote_plan check && compare_host) || die "comparing $TARGET_HOST with this version failed"
    step summary
    if [[ -n $drift ]]; then
        printf '%s\n' "$drift"
        log "$(grep -c . <<<"$drift") item(s) drifted on $TARGET_HOST from pve-nut-deployer $VERSION"
        exit 1
    fi
    log "no drift on $TARGET_HOST: it matches pve-nut-deployer $VERSION"
}

check_drift "$@"
