#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run the server with a Simulated register on 127.0.0.1:10123.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
# the data dir every fiscald command finds by itself: $FISCALD_DATA_DIR, else the service's, else the user data dir
exec .venv/bin/fiscald serve --demo "$@"
