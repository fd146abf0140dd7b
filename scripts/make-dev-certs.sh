#!/usr/bin/env bash
# A throw-away certificate authority and a coordinator certificate for development and the
# quickstart: `scripts/make-dev-certs.sh DIR [NAME...]` writes DIR/ca.pem (give it to clients as
# --ca-file / BERTFLEET_CA_FILE), DIR/server.pem and DIR/server.key (the coordinator's
# security.tls_cert_file / tls_key_file), valid for localhost, 127.0.0.1, ::1 and each extra
# NAME (a DNS name or an IP address). Keys are EC P-256, files 0600; existing files are kept.
# For production use certificates from your own CA (docs/security.md).
set -euo pipefail
dir=${1:?usage: make-dev-certs.sh DIR [NAME...]}
shift
mkdir -p "$dir"
cd "$dir"
umask 077
[ -f server.pem ] && [ -f server.key ] && [ -f ca.pem ] && exit 0

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+=",IP:$name"; else san+=",DNS:$name"; fi
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -keyout ca.key -out ca.pem -subj "/CN=bertfleet dev CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout server.key -out server.csr -subj "/CN=bertfleet coordinator" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
  -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem server.pem
