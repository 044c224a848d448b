#!/bin/bash
# pve-nut-status: a short summary of the local UPS as seen by upsd.
# Deployed by pve-nut-deployer; /usr/local/bin/pve-nut-status links here.
set -uo pipefail

UPS=${1:-ups@localhost}

if ! data=$(upsc "$UPS" 2>/dev/null); then
    echo "pve-nut-status: upsd does not answer for $UPS" >&2
    exit 1
fi

field() { sed -n "s/^$1: //p" <<<"$data"; }

status=$(field ups.status)
case " $status " in
    *" OL "*) summary="on line power" ;;
    *" OB "*) summary="ON BATTERY" ;;
    *) summary="unknown" ;;
esac
[[ " $status " == *" LB "* ]] && summary="$summary, LOW BATTERY"

printf '%-16s %s\n' \
    "UPS:" "$UPS" \
    "Model:" "$(field device.mfr) $(field device.model)" \
    "Status:" "$status ($summary)" \
    "Battery charge:" "$(field battery.charge)%" \
    "Runtime:" "$(field battery.runtime)s" \
    "Load:" "$(field ups.load)%" \
    "Input voltage:" "$(field input.voltage)V"
