"""Headless Chromium for the dashboard tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright's own browser download is not reachable from CI, so the system browser is launched by path.
``scripts/test.sh`` installs it with apt-get where it can; elsewhere :data:`MISSING` says why the UI tests skip.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"


def chromium_path() -> str | None:
    configured = os.environ.get("FISCALD_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "UI BROWSER TESTS SKIPPED: the playwright package is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return ("UI BROWSER TESTS SKIPPED: no Chromium found (apt-get install chromium, or set FISCALD_CHROMIUM; "
                "scripts/test.sh installs it where apt-get is available)")
    return None


MISSING = missing()
