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

# --chromium (npm start, npm test): the real engine drives Chromium, and the page is tested in it: Debian's package.
if want --chromium && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing Chromium from Debian packages (first time only)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation >/dev/null
  else
    echo "[setup] Chromium is missing: install Debian's chromium package or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi

# --test-tools (npm test): promtool checks the alert rules (Debian's prometheus package), php-cli runs the PHP
# webhook verifier against real deliveries.
if want --test-tools && { ! command -v promtool >/dev/null || ! command -v php >/dev/null; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing promtool and php-cli from Debian packages (first time only)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus php-cli >/dev/null
  else
    echo "[setup] promtool or php is missing: install Debian's prometheus and php-cli packages" >&2
    exit 1
  fi
fi
