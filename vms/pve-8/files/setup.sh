#!/bin/sh
# Image build step of the Proxmox VE 8 mimic (run once by the Dockerfile).
set -eu
src=/tmp/pve-mimic
export DEBIAN_FRONTEND=noninteractive

# Files outside packages: hardware stubs, mimic helpers, the NUT dummy device.
# Copied first so package scripts run during the install below already hit
# the udevadm stub.
cp -R "$src"/rootfs/. /
chmod 0755 /usr/local/sbin/harness-stub /usr/lib/pve-mimic/*
for f in udevadm shutdown reboot poweroff halt; do
    ln -sf harness-stub /usr/local/sbin/$f
done

# NUT (metapackage: nut-server + nut-client) and socat for the 8006 listener; python3 and python3-apt, which a
# PVE install has (Ansible's modules need them on the host).
apt-get update
apt-get install -y --no-install-recommends nut socat python3 python3-apt
apt-get clean

# Absolute paths must reach the stubs too: upsmon's SHUTDOWNCMD is
# "/sbin/shutdown -h +0", and deployers call /bin/udevadm. Diversions keep the
# stubs in place across package upgrades. systemd stops the container on
# SIGRTMIN+3 by itself and never calls these.
for f in /sbin/shutdown /sbin/reboot /sbin/poweroff /sbin/halt /bin/udevadm; do
    dpkg-divert --local --rename --divert "$f.distrib" --add "$f"
    ln -s /usr/local/sbin/"${f##*/}" "$f"
done

# The deployer's "driver = usbhid-ups / port = auto" runs dummy-ups in
# dummy-once mode (see /usr/lib/pve-mimic/usbhid-ups), which reads
# /etc/nut/auto. The driver drops to user nut before reading it.
dpkg-divert --local --rename --divert /lib/nut/usbhid-ups.distrib --add /lib/nut/usbhid-ups
ln -s /usr/lib/pve-mimic/usbhid-ups /lib/nut/usbhid-ups
chown root:nut /etc/nut/auto
chmod 0640 /etc/nut/auto

# Names the daemons show in ps/pgrep: the kernel takes a process's name from
# the path it was started by, so a symlink named after the daemon is enough.
mkdir -p /usr/lib/pve-mimic/bin
for d in pmxcfs pvedaemon pvestatd pvescheduler pve-firewall kvm; do
    ln -s /bin/sleep /usr/lib/pve-mimic/bin/$d
done
ln -s /bin/sh /usr/lib/pve-mimic/bin/pveproxy
ln -s /usr/bin/socat "/usr/lib/pve-mimic/bin/pveproxy worker"
ln -s /lib/nut/dummy-ups /usr/lib/pve-mimic/bin/usbhid-ups

# Keys pmxcfs and pvecm would generate on first start. Done here because RSA
# key generation at boot would cost seconds; the node certificate (it names
# the hostname) is still issued at boot, signed by this CA.
seed=/usr/lib/pve-mimic/seed
mkdir -m 0700 $seed
openssl genrsa -out $seed/authkey.key 2048 2>/dev/null
openssl rsa -in $seed/authkey.key -pubout -out $seed/authkey.pub 2>/dev/null
openssl genrsa -out $seed/pve-www.key 2048 2>/dev/null
openssl genrsa -out $seed/pve-ssl.key 2048 2>/dev/null
openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 3650 \
    -keyout $seed/pve-root-ca.key -out $seed/pve-root-ca.pem \
    -subj "/CN=Proxmox Virtual Environment/OU=$(cat /proc/sys/kernel/random/uuid)/O=PVE Cluster Manager CA" \
    2>/dev/null
ssh-keygen -q -t rsa -b 4096 -N '' -C root@pve -f $seed/id_rsa
chmod 0600 $seed/*

# Dummy packages so dpkg sees a PVE install; they carry the mimic's commands
# and units, so "dpkg -S /usr/bin/pveversion" answers like on PVE.
mkdir /tmp/debs
arch=$(dpkg --print-architecture)
for p in "$src"/pkg/*; do
    sed -i "s/^Architecture: amd64\$/Architecture: $arch/" "$p"/DEBIAN/control
    find "$p" -type d -exec chmod 0755 {} +
    find "$p" -type f -exec chmod 0644 {} +
    find "$p" -type f \( -path '*/bin/*' -o -path '*/sbin/*' \) -exec chmod 0755 {} +
    dpkg-deb --root-owner-group --build "$p" /tmp/debs/ >/dev/null
done
dpkg -i /tmp/debs/*.deb
rm -rf /tmp/debs
systemctl enable pve-cluster pvedaemon pveproxy pvestatd pvescheduler pve-firewall

# /etc/pve is where pmxcfs mounts; the pve-cluster unit fills it at boot.
install -d -o root -g www-data -m 0755 /etc/pve
install -d -m 0755 /var/lib/pve-cluster /var/lib/vz /var/lib/vz/dump /var/lib/vz/images \
    /var/lib/vz/template /var/lib/vz/template/cache /var/lib/vz/template/iso

# Last: the repositories a fresh install has. They are unreachable, so no apt
# command of this build may run after them.
install -m 0644 "$src"/apt/pve-enterprise.list "$src"/apt/ceph.list /etc/apt/sources.list.d/
rm -f /var/log/harness-stubs.log
