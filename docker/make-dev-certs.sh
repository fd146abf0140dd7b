#!/usr/bin/env bash
# Makes docker/certs/: a throw-away CA (ca.crt, ca.key) and the coordinator's certificate
# (tls.crt, tls.key) for docker/compose.yaml. The certificate names bertfleet-coordinator (what
# workers dial) and localhost (the container's own HEALTHCHECK). Development only: the key is
# world-readable so that the container user (uid 10001) can read the bind mount.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/certs"
if [ -s "$dir/tls.crt" ]; then echo "make-dev-certs: $dir exists, keeping it"; exit 0; fi
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=bertfleet dev CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=bertfleet-coordinator" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 365 \
  -extfile <(printf 'subjectAltName=DNS:bertfleet-coordinator,DNS:localhost,IP:127.0.0.1\n') \
  -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/ca.srl"
chmod 0644 "$dir/tls.key"
echo "make-dev-certs: wrote $dir/{ca.crt,ca.key,tls.crt,tls.key}"
