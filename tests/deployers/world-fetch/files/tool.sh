#!/bin/sh
# A release binary's stand-in, served by the harness's world as a release download.
echo "tool 1.0"
