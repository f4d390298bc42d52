#!/bin/sh
# docker-compose's temporal-certificates one-shot, at every start of the stack: Temporal accepts only clients that
# present a certificate of the stack's own CA, so this makes that CA once (its key stays in the temporal-ca volume,
# which nothing else mounts) and one certificate per role, each written to the volume only that role mounts:
#   /out/temporal        the server's (server and client authentication: its services present it to each other)
#   /out/temporal-admin  the namespace one-shot's      /out/temporal-ui  the UI server's
#   /out/worker          the workers'                  /out/api          the API processes'
# Each volume gets ca.pem, cert.pem and key.pem (P-256, readable by uid 1000 only, the user the images run as).
# A certificate is issued again when it is missing, of another CA, or within 30 days of its end; nothing to configure.
set -eu
CA_DAYS="${CA_DAYS:-3650}"
CERT_DAYS="${CERT_DAYS:-365}"
OWNER="${CERT_OWNER:-1000:1000}"
umask 077

if [ ! -s /ca/ca.key ] || [ ! -s /ca/ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /ca/ca.key -out /ca/ca.pem \
    -days "$CA_DAYS" -subj "/CN=wa-connect Temporal CA $(date -u +%Y%m%d%H%M%S)" 2>/dev/null
  echo "made a new CA for Temporal's mutual TLS"
fi

issue() {
  role="$1" usages="$2" names="$3"
  out="/out/$role"
  if [ -s "$out/cert.pem" ] && [ -s "$out/key.pem" ] && cmp -s /ca/ca.pem "$out/ca.pem" \
    && openssl x509 -in "$out/cert.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    return 0
  fi
  work=$(mktemp -d)
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/request.pem" \
    -subj "/CN=$role" 2>/dev/null
  printf 'extendedKeyUsage=%s\n' "$usages" >"$work/extensions"
  [ -z "$names" ] || printf 'subjectAltName=%s\n' "$names" >>"$work/extensions"
  openssl x509 -req -in "$work/request.pem" -CA /ca/ca.pem -CAkey /ca/ca.key -CAcreateserial \
    -CAserial /ca/serial -out "$work/cert.pem" -days "$CERT_DAYS" -extfile "$work/extensions" 2>/dev/null
  cp /ca/ca.pem "$out/ca.pem"
  cp "$work/cert.pem" "$out/cert.pem"
  cp "$work/key.pem" "$out/key.pem"
  rm -rf "$work"
  chown "$OWNER" "$out/ca.pem" "$out/cert.pem" "$out/key.pem"
  chmod 0444 "$out/ca.pem" "$out/cert.pem"
  chmod 0400 "$out/key.pem"
  echo "issued the $role certificate"
}

issue temporal serverAuth,clientAuth DNS:temporal,DNS:localhost,IP:127.0.0.1
for role in temporal-admin temporal-ui worker api; do issue "$role" clientAuth ""; done
echo "Temporal certificates ready"
