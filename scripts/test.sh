#!/usr/bin/env bash
# Sets up (idempotent) and runs every test. Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The report test renders pages in a real headless browser.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "colt: could not install chromium" >&2
fi
exec .venv/bin/python -m pytest "$@"
