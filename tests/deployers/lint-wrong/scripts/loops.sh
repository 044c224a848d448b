#!/bin/bash
# Wrong on purpose for shellcheck: a loop that runs once (an error), a variable set and never used (a warning).
set -euo pipefail
files=$(ls /etc/nut)
for f in "$files"; do echo "$f"; done
unused=1
