#!/usr/bin/env bash
# Installs what is missing and nothing else, so it is cheap to run before every start and every test run.
# The Temporal CLI (built with Go when absent) and PostgreSQL (Debian's package when absent) are found or
# installed by the stack itself when it starts: see infra/temporal-cli.ts and infra/local-postgres.ts.
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [major, minor] = process.versions.node.split(".").map(Number); if (major < 20 || (major === 20 && minor < 3)) { console.error(`Node.js >= 20.3 is required, found ${process.version}`); process.exit(1); }'

# Chromium comes from the system; puppeteer must not try to download its own.
export PUPPETEER_SKIP_DOWNLOAD=1
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

want() { [[ " $FLAGS " == *" $1 "* ]]; }
FLAGS="$*"

# Installs Debian packages, or says what to install where it cannot (not root, no apt).
apt_install() {
  local what="$1"
  shift
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing $what from Debian packages (first time only)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
  else
    echo "[setup] $what is missing: install Debian's $* package(s)" >&2
    exit 1
  fi
}

# --chromium (npm start, npm test): the real engine drives Chromium, and the page is tested in it: Debian's package
# (or CHROMIUM_PATH).
if want --chromium && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  apt_install Chromium chromium fonts-liberation
fi

# --test-tools (npm test): promtool checks the alert rules (Debian's prometheus package), php-cli runs the PHP
# webhook verifier against real deliveries.
if want --test-tools && { ! command -v promtool >/dev/null || ! command -v php >/dev/null; }; then
  apt_install "promtool and php-cli" prometheus php-cli
fi
