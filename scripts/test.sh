#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run every check: ruff, mypy --strict, the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check src tests bench examples
.venv/bin/mypy
# pytest exits 5 when it collects nothing: that is a failure here too (set -e).
.venv/bin/pytest -q "$@"
