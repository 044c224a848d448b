#!/bin/bash
# Records the UPS battery charge (cron.d/seed-nut).
echo "$(date -Is) charge=$(upsc ups@localhost battery.charge 2>/dev/null || echo unknown)"
