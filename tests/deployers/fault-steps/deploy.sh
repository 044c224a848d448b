#!/bin/bash
# One ssh per step, as the seed writes deployers: three files, each over a connection of its own.
# Made wrong on purpose by the tests, through env:
#   LIAR=1    skips a host it cannot reach and exits 0, as a deployer that "tolerates" unreachable hosts does;
#   STEP_PAUSE=S waits S seconds after each step's line (a fault that strikes on a line of the log);
#   MARKER=1  writes an "installed" marker with its first file and does nothing where it finds one: a run cut
#             after the first file leaves a host no later run completes.
set -euo pipefail
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o ConnectTimeout=5 -i /etc/ssh-key/id_ed25519)
if [[ ${MARKER:-0} == 1 ]] && ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "test -e /etc/steps/.installed"; then
    echo "already installed"
    exit 0
fi
for n in 1 2 3; do
    marker=""
    if [[ ${MARKER:-0} == 1 && $n == 1 ]]; then marker=" && touch /etc/steps/.installed"; fi
    if ! ssh "${ssh_opts[@]}" "root@$TARGET_HOST" "install -d /etc/steps && echo 'step $n' > /etc/steps/$n.conf$marker"; then
        if [[ ${LIAR:-0} == 1 ]]; then
            echo "host unreachable at step $n: skipped"
            exit 0
        fi
        exit 1
    fi
    echo "step $n done"
    sleep "${STEP_PAUSE:-0}"  # the tests give a fault struck when this line is printed time to strike
done
