#!/usr/bin/env bash
# Make sure a Docker engine answers and debootstrap is installed (Debian, as root).
# Used by `make setup` and `.ci/run`: every session and CI may start on a new machine.
set -euo pipefail

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
    exit 0
fi
echo "starting dockerd (log: /var/log/dockerd.log)"
setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 1
done
echo "dockerd did not start; its log ends with:" >&2
tail -n 20 /var/log/dockerd.log >&2
exit 1
