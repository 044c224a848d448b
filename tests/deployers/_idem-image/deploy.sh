#!/bin/bash
# A small Job + SSH deployer: a config with a secret, a .env, a systemd service and a cron entry.
# It is idempotent unless FLAW names the mistake to make on every run:
#   append     appends a line to /root/.profile
#   timestamp  writes the time into /etc/idem/app.conf
#   chmod      flips the mode of /etc/idem/app.conf
#   restart    restarts idem.service
#   rewrite    rewrites /etc/idem/app.conf with the same content
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i "$SSH_KEY_FILE")
echo "deploying idem to $TARGET_HOST (flaw: ${FLAW:-none})"
ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "FLAW='${FLAW:-none}' API_TOKEN='$API_TOKEN' bash -s" <<'REMOTE'
set -euo pipefail
changed() { echo "changed $1"; }

# put CONTENT PATH MODE: write only when the content differs (or when the rewrite flaw says so).
put() {
    if [[ $FLAW == rewrite || ! -f $2 || $(cat "$2") != "$1" ]]; then
        printf '%s\n' "$1" > "$2.tmp" && chmod "$3" "$2.tmp" && mv -f "$2.tmp" "$2"
        changed "$2"
    fi
}

install -d -m 0755 /etc/idem /opt/idem
conf="listen = 8080
token = $API_TOKEN
workers = 2"
if [[ $FLAW == timestamp ]]; then conf="$conf
generated = $(date +%s.%N)"; fi
put "$conf" /etc/idem/app.conf 0644
if [[ $FLAW == chmod ]]; then
    if [[ $(stat -c %a /etc/idem/app.conf) == 644 ]]; then chmod 0640 /etc/idem/app.conf; else chmod 0644 /etc/idem/app.conf; fi
fi
put "API_TOKEN=$API_TOKEN" /etc/idem/.env 0600

if [[ $FLAW == append ]]; then
    echo 'export IDEM_HOME=/opt/idem' >> /root/.profile
elif ! grep -qx 'export IDEM_HOME=/opt/idem' /root/.profile; then
    echo 'export IDEM_HOME=/opt/idem' >> /root/.profile
fi

put '*/5 * * * * root /bin/true idem-tick' /etc/cron.d/idem 0644
unit='[Unit]
Description=idem test service
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target'
if [[ ! -f /etc/systemd/system/idem.service || $(cat /etc/systemd/system/idem.service) != "$unit" ]]; then
    printf '%s\n' "$unit" > /etc/systemd/system/idem.service
    systemctl daemon-reload
fi
systemctl is-enabled --quiet idem.service || systemctl enable --quiet idem.service
if [[ $FLAW == restart ]]; then
    systemctl restart idem.service
elif ! systemctl is-active --quiet idem.service; then
    systemctl start idem.service
fi
REMOTE
echo done
