#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run every check: ruff, mypy --strict, the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# tests/test_service_linux.py checks the systemd unit with systemd-analyze (skipped, loudly, when it is missing)
if ! command -v systemd-analyze >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd) \
    >/dev/null || echo "could not install systemd: the systemd-analyze test will be skipped" >&2
fi
.venv/bin/ruff check src tests bench examples scripts
.venv/bin/mypy
# pytest exits 5 when it collects nothing: that is a failure here too (set -e).
.venv/bin/pytest -q "$@"
