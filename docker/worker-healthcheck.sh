#!/bin/bash
# HEALTHCHECK of the worker images: GET /metrics on the agent's --metrics-listen port must answer
# 200. Plain bash (/dev/tcp), so the image needs no curl or wget.
set -euo pipefail
port="${1:?usage: bertfleet-worker-healthcheck PORT}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 4 status_line <&3
[[ "$status_line" == "HTTP/1."[01]" 200"* ]]
