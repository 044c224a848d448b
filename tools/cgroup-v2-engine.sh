#!/usr/bin/env bash
# A second Docker engine that sees cgroup v2, beside the default one, on a host that mounts cgroup v1 (as the
# machine this is developed on does; GitHub's runners and most hosts use v2). The tests start and stop it.
#
#   tools/cgroup-v2-engine.sh start DIR   print its socket once it answers (root; its state lives in DIR)
#   tools/cgroup-v2-engine.sh stop DIR    remove its containers, stop it, remove its bridge
#
# dockerd runs in a mount namespace of its own whose /sys/fs/cgroup is a fresh cgroup2 mount: the host keeps its
# v1 mounts, and the default engine, its images and containers are left alone. On a host that already runs cgroup
# v2 the default engine is a v2 engine, and this one is another. Its own bridge and address pool keep its networks
# from clashing with the default engine's; cgroupfs is its driver (no systemd manages the namespace).
set -euo pipefail
command=${1:?usage: $0 start|stop DIR}
dir=$(realpath -m "${2:?usage: $0 start|stop DIR}")
bridge=${HARNESS_V2_BRIDGE:-dhv2br0}
gateway=${HARNESS_V2_GATEWAY:-10.198.0.1/24}
pool=${HARNESS_V2_POOL:-10.197.0.0/16}
socket="unix://$dir/docker.sock"
if [ "$bridge" = docker0 ]; then
    echo "the default engine's bridge is docker0: give this engine another (HARNESS_V2_BRIDGE)" >&2
    exit 2
fi
bridge_net=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$gateway")
rules=(
    "FORWARD -s $pool -d $pool -j ACCEPT"
    "FORWARD -i $bridge -j ACCEPT"
    "FORWARD -o $bridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    "POSTROUTING -t nat -s $bridge_net ! -o $bridge -j MASQUERADE"
)

stop() {
    if docker -H "$socket" info >/dev/null 2>&1; then
        ids=$(docker -H "$socket" ps -aq)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086  # one ID a word
            docker -H "$socket" rm -f $ids >/dev/null 2>&1 || true
        fi
        docker -H "$socket" network prune -f >/dev/null 2>&1 || true  # their bridges live in the host's namespace
    fi
    if [ -f "$dir/dockerd.launch.pid" ]; then
        pid=$(cat "$dir/dockerd.launch.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$dir/dockerd.launch.pid"
    fi
    if [ -f "$dir/bridge.made" ]; then
        ip link del "$bridge" 2>/dev/null || true
        rm -f "$dir/bridge.made"
    fi
    for rule in "${rules[@]}"; do
        # shellcheck disable=SC2086  # a rule is words
        while iptables -D $rule 2>/dev/null; do :; done
    done
    for group in /sys/fs/cgroup/unified/harness-v2 /sys/fs/cgroup/harness-v2; do
        rmdir "$group" 2>/dev/null || true
    done
}

case $command in
start)
    trap 'stop' ERR  # nothing of a half start stays: rules, bridge, engine
    mkdir -p "$dir/data" "$dir/exec" "$dir/etc"
    # Its own rules, as the default engine writes its own (this one runs with --iptables=false, or the two would
    # fight over Docker's chains): containers of its networks talk to each other, and its default bridge (the
    # package mirror's way out) is masqueraded.
    for rule in "${rules[@]}"; do
        # shellcheck disable=SC2086  # a rule is words
        iptables -C $rule 2>/dev/null || iptables -I $rule
    done
    echo '{}' >"$dir/etc/daemon.json"
    if ! ip link show "$bridge" >/dev/null 2>&1; then
        touch "$dir/bridge.made"  # stop removes only a bridge this script made
        ip link add "$bridge" type bridge
        ip addr add "$gateway" dev "$bridge"
        ip link set "$bridge" up
    fi
    # unshare without --fork becomes dockerd: the PID saved is the engine's.
    setsid unshare --mount --propagation private sh -ec '
        dir=$0 bridge=$1 pool=$2
        if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
            umount -R /sys/fs/cgroup
            mount -t cgroup2 none /sys/fs/cgroup
        fi
        mkdir -p /etc/docker /run/containerd
        mount --bind "$dir/etc" /etc/docker  # its own key.json and daemon.json
        mount -t tmpfs harness-v2 /run/containerd  # a system containerd would run its containers outside: not it
        exec dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
            -H "unix://$dir/docker.sock" --config-file "$dir/etc/daemon.json" --bridge "$bridge" \
            --default-address-pool "base=$pool,size=24" --iptables=false --ip-masq=false --ip-forward=false \
            --cgroup-parent /harness-v2 --exec-opt native.cgroupdriver=cgroupfs' "$dir" "$bridge" "$pool" \
        >"$dir/dockerd.log" 2>&1 </dev/null &
    echo $! >"$dir/dockerd.launch.pid"
    for _ in $(seq 1 120); do
        if docker -H "$socket" info >/dev/null 2>&1; then
            echo "$socket"
            exit 0
        fi
        sleep 0.5
    done
    echo "the cgroup v2 engine did not answer; its log ends with:" >&2
    tail -n 20 "$dir/dockerd.log" >&2
    stop
    exit 1
    ;;
stop)
    stop
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
