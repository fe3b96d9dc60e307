"""docs/errors.md lists exactly the codes of the one error table, with their names and HTTP statuses."""

from __future__ import annotations

import re
from pathlib import Path

from fiscald.errors import ERRORS

DOC = Path(__file__).parent.parent / "docs" / "errors.md"


def test_errors_doc_matches_table() -> None:
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\d+) \|", DOC.read_text(encoding="utf-8"), flags=re.M)
    documented = {int(code): (name, int(http)) for code, name, http in rows}
    actual = {int(code): (spec.name, spec.http_status) for code, spec in ERRORS.items()}
    assert documented == actual
