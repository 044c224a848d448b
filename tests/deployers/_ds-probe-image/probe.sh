#!/bin/bash
echo "node=$NODE_NAME pid=$$ hostname=$(hostname)"
echo "processes=$(ls /proc | grep -c '^[0-9]')"
if out=$(chroot /host systemctl is-active cron 2>&1); then echo "systemctl: $out"; else echo "systemctl failed: $out"; fi
chroot /host sysctl -q -w vm.swappiness="${SWAPPINESS:-13}" && echo "sysctl: set" || echo "sysctl: refused"
echo "swappiness=$(cat /proc/sys/vm/swappiness) host-swappiness=$(cat /host/proc/sys/vm/swappiness)"
if [ -n "${FETCH_URL:-}" ]; then  # the world, from the pod's image and from the node
    echo "pod-fetch: $(curl -fsS --max-time 10 "$FETCH_URL" 2>&1)"
    echo "node-fetch: $(chroot /host curl -fsS --max-time 10 "$FETCH_URL" 2>&1)"
fi
[ "${CRASH:-no}" = yes ] && { echo "crashing on purpose"; exit 3; }
touch /tmp/ready
exec sleep infinity
