#!/bin/bash
# Proxmox VE hookscript of the frigate VM: PVE calls it with the VM's ID and the phase (pre-start, post-start,
# pre-stop, post-stop). Before the VM starts, the Coral TPU it is given (hostpci0) must not be held by the host.
vmid=$1 phase=$2
case $phase in
pre-start)
    logger -t frigate-hook "VM $vmid: releasing the Coral TPU for passthrough"
    ;;
post-stop)
    logger -t frigate-hook "VM $vmid stopped"
    ;;
esac
exit 0
