#!/bin/sh
echo "deploying gitops-good"
