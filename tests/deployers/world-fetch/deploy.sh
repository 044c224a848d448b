#!/bin/bash
# Downloads from the world: a config from the pod (the pod's DNS and trust), a release on the host (the host's).
# Careful (CAREFUL=1): `curl -f` into a temporary file, the checksum checked, then moved into place: a failed
# download fails the Job and leaves the host as it was. Made wrong on purpose with CAREFUL=0: `curl -sL > file`
# saves whatever comes back (an error page) as the tool and the config, and the Job reports success.
# EXTRA_URL: one more download, which the tests leave unmapped.
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o ConnectTimeout=5 -i /etc/ssh-key/id_ed25519)
if [[ ${CAREFUL:-1} == 1 ]]; then
    curl -fsS --max-time 20 -o /tmp/tool.conf "$CONFIG_URL"
else
    curl -sS --max-time 20 -o /tmp/tool.conf "$CONFIG_URL"
fi
if [[ -n ${EXTRA_URL:-} ]]; then  # a download nobody mapped: the world refuses it, and says why
    curl -sS --max-time 20 "$EXTRA_URL" || true
fi
scp "${ssh_opts[@]}" /tmp/tool.conf "root@$TARGET_HOST:/etc/tool.conf"
if [[ ${CAREFUL:-1} == 1 ]]; then
    ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "set -e; new=\$(mktemp /usr/local/bin/.tool.XXXXXX)
        trap 'rm -f \"\$new\"' EXIT
        curl -fsS --max-time 20 -o \"\$new\" '$TOOL_URL'
        echo '$TOOL_SHA256  '\"\$new\" | sha256sum -c --quiet
        chmod 755 \"\$new\" && mv \"\$new\" /usr/local/bin/tool"
else
    ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "curl -sSL --max-time 20 '$TOOL_URL' > /usr/local/bin/tool; chmod 755 /usr/local/bin/tool"
fi
echo "tool installed"
