#!/bin/bash
# pve-provisioner: the frigate VM's hookscript and passthrough on a Proxmox VE host, as its provisioner sets them.
#
#   deploy.sh          copy snippets/frigate-hook.sh to /var/lib/vz/snippets and attach it with `qm set`, with the
#                      VM's PCI passthrough and QEMU args; each only when it differs
#   deploy.sh check    the drift check: a line "DRIFT <item>: <what>" for each difference, exit 1 if any
#
# Environment: TARGET_HOST (required), VMID (default 108), SSH_KEY_FILE, KNOWN_HOSTS_FILE.
set -euo pipefail
action=${1:-deploy}
: "${TARGET_HOST:?TARGET_HOST is not set}"
VMID=${VMID:-108}
KEY=${SSH_KEY_FILE:-/etc/deployer/ssh/id_ed25519}
KNOWN_HOSTS=${KNOWN_HOSTS_FILE:-/etc/deployer/known_hosts/known_hosts}
SNIPPET=frigate-hook.sh
HOOKSCRIPT=local:snippets/$SNIPPET
HOSTPCI0=0000:01:00.0,pcie=1
ARGS="-cpu host,+aes"
ssh_opts=(-i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS"
    -o LogLevel=ERROR -o ControlMaster=auto -o ControlPath=/tmp/ssh-%r@%h:%p -o ControlPersist=30)
remote() { ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "$@"; }

VERSION=$(cat /app/VERSION)
STAMP=/var/lib/vz/snippets/.pve-provisioner.version
echo "pve-provisioner $VERSION: VM $VMID on $TARGET_HOST ($action)"
remote "qm config $VMID" >/tmp/config || { echo "VM $VMID: qm config failed on $TARGET_HOST" >&2; exit 1; }
printf '%s\n' "$VERSION" >/tmp/stamp
declare -A want=([hookscript]=$HOOKSCRIPT [hostpci0]=$HOSTPCI0 [args]=$ARGS)
declare -A source=([/var/lib/vz/snippets/$SNIPPET]=/app/snippets/$SNIPPET [$STAMP]=/tmp/stamp)
declare -A mode=([/var/lib/vz/snippets/$SNIPPET]=755 [$STAMP]=644)

# state PATH: "MODE OWNER:GROUP SHA256" of the file on the host, empty when it is not there
state() { remote "f=$1; [ -f \"\$f\" ] && [ ! -L \"\$f\" ] && echo \$(stat -c '%a %U:%G' \"\$f\") \$(sha256sum <\"\$f\" | cut -d' ' -f1)" || true; }
wanted() { echo "${mode[$1]} root:root $(sha256sum <"${source[$1]}" | cut -d' ' -f1)"; }

if [[ $action == check ]]; then
    drift=0
    for path in "/var/lib/vz/snippets/$SNIPPET" "$STAMP"; do
        have=$(state "$path")
        [[ $have == "$(wanted "$path")" ]] || { echo "DRIFT $path: ${have:-missing}, expected $(wanted "$path")"; drift=1; }
    done
    for key in hookscript hostpci0 args; do
        have=$(sed -n "s/^$key: //p" /tmp/config)
        [[ $have == "${want[$key]}" ]] || { echo "DRIFT VM $VMID $key: '${have}', expected '${want[$key]}'"; drift=1; }
    done
    (( drift )) || echo "no drift"
    exit "$drift"
fi

for path in "/var/lib/vz/snippets/$SNIPPET" "$STAMP"; do
    if [[ $(state "$path") != "$(wanted "$path")" ]]; then
        remote "mkdir -p /var/lib/vz/snippets && cat > $path.new && chown root:root $path.new && chmod ${mode[$path]} $path.new && mv -f $path.new $path" <"${source[$path]}"
        echo "installed $path"
    fi
done
set_args=()
for key in hookscript hostpci0 args; do
    [[ $(sed -n "s/^$key: //p" /tmp/config) == "${want[$key]}" ]] || set_args+=("--$key" "$(printf '%q' "${want[$key]}")")
done
if (( ${#set_args[@]} )); then
    remote "qm set $VMID ${set_args[*]}"
else
    echo "VM $VMID: hookscript, passthrough and args as wanted"
fi
