#!/usr/bin/env bash
# Set up a virtual environment with the test and dev extras and run the whole test suite.
# The browser tests (Playwright driving the system's Chromium; no browser is downloaded) need
# Chromium: installed here with apt when run as root, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,dev]'
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium with apt-get for the browser tests (Playwright drives the system's Chromium)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    echo "Installed: $(chromium --version 2>/dev/null || echo 'chromium')"
  else
    echo "Chromium is missing: the browser tests will be skipped; install it (Debian/Ubuntu: apt-get install chromium)." >&2
  fi
fi
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src tests
.venv/bin/python -m pytest -rs "$@"
