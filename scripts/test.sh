#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine and runs them:
# Docker engine and busybox (for the real-engine tests, which start their own private
# dockerd instances), an sshd (the ssh:// engine tests start their own), a virtualenv
# with the Python dependencies, then pytest. With CI set (.ci/run sets it) a skipped test
# counts as failed (tests/conftest.py), so the summary of a CI run shows 0 skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  sh .ci/system-deps.sh
elif [ -n "${CI:-}" ]; then
  echo "CI needs root to install dockerd, sshd and PostgreSQL for the real-engine tests" >&2
  exit 1
else
  echo "not root: tests that need dockerd, sshd or a PostgreSQL install will be skipped" >&2
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest -q "$@"
