#!/bin/sh
# Creates the namespace with its retention period and registers the search attributes every account workflow sets
# (workflows/search-attributes.ts; a test keeps the two lists equal). Idempotent, with Temporal's own CLI: run after
# the server answers, by npm start's production topology and by docker-compose's temporal-namespace one-shot.
set -eu
CLI="${TEMPORAL_CLI:-temporal}"
ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_RETENTION:-72h}"
SEARCH_ATTRIBUTES="AccountStatus=Keyword WorkspaceId=Keyword AccountHost=Keyword AccountStatusChangedAt=Datetime"

# TLS to the frontend when the TEMPORAL_TLS_* files are set (mutual TLS with a certificate and its key): the same
# settings the worker and the API read (lib/temporal-tls.ts).
set --
[ -z "${TEMPORAL_TLS_CA:-}" ] || set -- "$@" --tls-ca-path "$TEMPORAL_TLS_CA"
[ -z "${TEMPORAL_TLS_CERT:-}" ] || set -- "$@" --tls-cert-path "$TEMPORAL_TLS_CERT" --tls-key-path "$TEMPORAL_TLS_KEY"
[ -z "${TEMPORAL_TLS_SERVER_NAME:-}" ] || set -- "$@" --tls-server-name "$TEMPORAL_TLS_SERVER_NAME"

# The server may still be starting (docker-compose starts this beside it): wait up to two minutes.
tries=0
until "$CLI" operator cluster health --address "$ADDRESS" "$@" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at $ADDRESS did not answer" >&2; exit 1; }
  sleep 2
done

if ! "$CLI" operator namespace describe --address "$ADDRESS" "$@" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  "$CLI" operator namespace create --address "$ADDRESS" "$@" --namespace "$NAMESPACE" --retention "$RETENTION"
fi
# A new namespace reaches every part of the server within seconds (its registry refreshes): wait for it.
tries=0
until existing=$("$CLI" operator search-attribute list --address "$ADDRESS" "$@" --namespace "$NAMESPACE" 2>/dev/null); do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "namespace $NAMESPACE did not become usable" >&2; exit 1; }
  sleep 1
done
for declaration in $SEARCH_ATTRIBUTES; do
  name="${declaration%%=*}"
  if ! printf '%s\n' "$existing" | grep -qw "$name"; then
    "$CLI" operator search-attribute create --address "$ADDRESS" "$@" --namespace "$NAMESPACE" \
      --name "$name" --type "${declaration##*=}"
  fi
done
echo "temporal namespace ready: $NAMESPACE (retention $RETENTION)"
