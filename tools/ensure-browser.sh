#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver (as root), for the HTML report's test in a real headless browser.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
echo "installing chromium and chromium-driver from Debian's packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
