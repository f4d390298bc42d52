#!/usr/bin/env bash
# Installs podman, runc, docker-compose (1.29, run against podman's Docker-compatible socket) and mmdebstrap from
# Debian's packages when missing, and gives podman the two settings this kind of host needs: runc (crun refuses
# cgroups in hybrid mode) and explicit ulimits (root may not raise its hard nofile limit here).
set -euo pipefail
missing=()
for tool in podman runc docker-compose mmdebstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[images] installing ${missing[*]} from Debian packages (first time only)"
  apt-get update -q >/dev/null
  # With their recommended packages: the set podman's container networking was proven with here.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc docker-compose mmdebstrap >/dev/null
fi
conf=/etc/containers/containers.conf
if ! grep -q '^runtime = "runc"' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >"$conf" <<CONF
# Written by wa-connect's infra/compose/local/podman.sh.
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=16384:16384"]
[engine]
runtime = "runc"
CONF
fi
