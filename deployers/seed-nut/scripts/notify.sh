#!/bin/bash
# Called by upsmon (NOTIFYCMD) on UPS events.
logger -t seed-nut "UPS event ${NOTIFYTYPE:-?}: $*"
