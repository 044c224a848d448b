#!/bin/sh
echo "deploying gitops-wrong"
