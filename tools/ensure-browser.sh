#!/usr/bin/env bash
# A headless browser and its driver (as root), for the HTML report's test in a real browser: Debian's Chromium
# and ChromeDriver, unless the machine has a browser with its driver already (GitHub's Ubuntu runners come with
# Chrome and ChromeDriver; Ubuntu's chromium package would only install a snap).
set -euo pipefail
browser=$(command -v chromium || command -v google-chrome || command -v chromium-browser || true)
driver=$(command -v chromedriver || { [ -x "${CHROMEWEBDRIVER:-}/chromedriver" ] && echo "$CHROMEWEBDRIVER/chromedriver"; } || true)
if [ -n "$browser" ] && [ -n "$driver" ]; then
    exit 0
fi
echo "installing chromium and chromium-driver from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
