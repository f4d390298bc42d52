#!/usr/bin/env bash
# Builds, with podman and without any registry, the images docker-compose.local.yml runs in place of the registry's:
#   localhost/debian-base:bookworm          Debian's packages only (mmdebstrap), the base of the others
#   localhost/node:20-bookworm-slim         + this machine's Node.js 20 and npm (Debian bookworm ships Node 18)
#   localhost/wa-connect-postgres:15        + Debian's PostgreSQL 15, with the official image's first-start contract
#   localhost/wa-connect-temporal:v1.29.1   + Temporal's server, SQL tool, CLI and UI server, built here with Go
#   localhost/wa-connect:local              the service's own Dockerfile, FROM the node stand-in
# An image built from the same files is kept (unless REBUILD_IMAGES=1); the service's image is built every time
# (its layers cached).
# Installs podman and its companions first when missing (see infra/compose/local/podman.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=infra/compose/local
stage=.data/compose-images
bash "$here/podman.sh"

# An image is current when it was built from the same files: their digest is a label of the image.
source_digest() { cat "$@" | sha256sum | cut -c1-16; }
have() {
  [ "${REBUILD_IMAGES:-0}" != 1 ] && podman image exists "$1" \
    && [ "$(podman image inspect --format '{{index .Config.Labels "wa-connect.source"}}' "$1")" = "$2" ]
}
step() { printf '[images] %s\n' "$*"; }

if ! podman image exists localhost/debian-base:bookworm || [ "${REBUILD_IMAGES:-0}" = 1 ]; then
  step "debian-base:bookworm from Debian's packages (mmdebstrap)"
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm - "$sources" \
    | podman import - localhost/debian-base:bookworm >/dev/null
fi

node_source=$(printf '%s\n' "$(node --version)" | source_digest - "$here/node.Containerfile")
if ! have localhost/node:20-bookworm-slim "$node_source"; then
  step "node:20-bookworm-slim stand-in with $(node --version) from this machine"
  npm_root=$(npm root -g)
  rm -rf "$stage/node" && mkdir -p "$stage/node"
  cp "$(readlink -f "$(command -v node)")" "$stage/node/node"
  cp -r "$npm_root/npm" "$stage/node/npm"
  podman build --quiet --label "wa-connect.source=$node_source" -t localhost/node:20-bookworm-slim \
    -f "$here/node.Containerfile" "$stage/node" >/dev/null
fi

postgres_source=$(source_digest "$here/postgres.Containerfile" "$here/postgres-entrypoint.sh")
if ! have localhost/wa-connect-postgres:15 "$postgres_source"; then
  step "wa-connect-postgres:15 (Debian's PostgreSQL)"
  podman build --quiet --label "wa-connect.source=$postgres_source" -t localhost/wa-connect-postgres:15 \
    -f "$here/postgres.Containerfile" "$here" >/dev/null
fi

temporal_source=$(source_digest "$here/temporal.Containerfile" "$here/temporal-binaries.ts")
if ! have localhost/wa-connect-temporal:v1.29.1 "$temporal_source"; then
  step "wa-connect-temporal:v1.29.1 (Temporal's binaries, built with Go the first time: a few minutes)"
  # The answer is the line naming every binary: a first build's log lines may be flushed after it.
  binaries=$(npx tsx "$here/temporal-binaries.ts" | grep -F '"sqlTool"' | tail -n 1)
  field() { node -e 'process.stdout.write(JSON.parse(process.argv[1])[process.argv[2]])' "$binaries" "$1"; }
  rm -rf "$stage/temporal" && mkdir -p "$stage/temporal/schema"
  cp "$(field server)" "$stage/temporal/temporal-server"
  cp "$(field sqlTool)" "$stage/temporal/temporal-sql-tool"
  cp "$(field cli)" "$stage/temporal/temporal"
  cp "$(field uiServer)" "$stage/temporal/temporal-ui-server"
  cp -r "$(field schemaDir)/.." "$stage/temporal/schema/postgresql"
  podman build --quiet --label "wa-connect.source=$temporal_source" -t localhost/wa-connect-temporal:v1.29.1 \
    -f "$here/temporal.Containerfile" "$stage/temporal" >/dev/null
fi

step "wa-connect:local (Dockerfile, FROM the node stand-in)"
# This machine's CA bundle as a build secret: npm in the build reaches the registry the way this machine's npm does.
ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
podman build --quiet --secret "id=build-ca,src=$ca_bundle" --build-arg NODE_IMAGE=localhost/node:20-bookworm-slim \
  -t localhost/wa-connect:local . >/dev/null
podman images --filter reference='localhost/*' --format '{{.Repository}}:{{.Tag}} {{.Size}}'
