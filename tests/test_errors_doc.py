"""docs/errors.md lists exactly the codes of the one error table, with their names and HTTP statuses."""

from __future__ import annotations

import re
from pathlib import Path

from fiscald.errors import ERRORS, Code, FiscalError

DOC = Path(__file__).parent.parent / "docs" / "errors.md"


def test_errors_doc_matches_table() -> None:
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\d+) \|", DOC.read_text(encoding="utf-8"), flags=re.M)
    documented = {int(code): (name, int(http)) for code, name, http in rows}
    actual = {int(code): (spec.name, spec.http_status) for code, spec in ERRORS.items()}
    assert documented == actual


def test_errors_doc_says_which_codes_bind_the_key() -> None:
    """The "binds the key" column is what the manager does: the request's own errors, failures that left nothing
    (ErrorSpec.leaves_nothing) and the key's own answers (1008, 1009) leave the key free."""
    rows = re.findall(r"^\| (\d+) \| \w+ \| \d+ \| (?:yes|no) \| (yes|no|—) \|", DOC.read_text(encoding="utf-8"),
                      flags=re.M)
    assert len(rows) == len(ERRORS)
    for code, binds in rows:
        c = Code(int(code))
        free = FiscalError(c).caused_by_request or ERRORS[c].leaves_nothing or c in (Code.IDEMPOTENCY_CONFLICT,
                                                                                    Code.OPERATION_IN_PROGRESS)
        if binds != "—":
            assert (binds == "no") == free, code
    assert {int(code) for code, binds in rows if binds == "yes"} >= {1000, 1010, 2000, 2003, 2004, 3003}
