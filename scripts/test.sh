#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run every check: ruff, mypy --strict, the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# tests/test_central.py starts a throwaway PostgreSQL from Debian's binaries: install them where apt can (CI is root)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) \
    >/dev/null 2>&1 || echo "could not install postgresql: the central shipping tests will be skipped"
fi
# The /ui browser tests drive Debian's Chromium (Playwright's own browser download is not reachable). Install it
# where apt-get can; elsewhere tests/test_ui_browser.py is skipped with one loud reason in the summary.
if [ -z "${FISCALD_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing chromium (apt-get) for the UI browser tests..."
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/tmp/fiscald-apt.log 2>&1; then
      echo "WARNING: apt-get install chromium failed (see /tmp/fiscald-apt.log): the UI browser tests will be skipped"
    fi
  else
    echo "WARNING: no chromium and no apt-get as root: the UI browser tests will be skipped"
  fi
fi
# tests/test_service_linux.py checks the systemd unit with systemd-analyze (skipped, loudly, when it is missing)
if ! command -v systemd-analyze >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd) \
    >/dev/null || echo "could not install systemd: the systemd-analyze test will be skipped" >&2
fi
.venv/bin/ruff check src tests bench examples scripts
.venv/bin/mypy
# ...and as Windows sees it: POSIX-only code (tty, pwd, resource, os.geteuid...) must sit behind sys.platform checks
.venv/bin/mypy --platform win32 --cache-dir .mypy_cache/win32
# pytest exits 5 when it collects nothing: that is a failure here too (set -e).
# Two workers (pytest-xdist), a test file per worker: most of the suite waits on child processes (servers,
# emulators, PostgreSQL), so two run side by side in about half the time even on 2 cores. Every test has its own
# free ports and temp dirs; module fixtures stay in one worker. FISCALD_TEST_WORKERS=0 runs them in one process.
.venv/bin/pytest -q -n "${FISCALD_TEST_WORKERS:-2}" --dist loadfile "$@"
