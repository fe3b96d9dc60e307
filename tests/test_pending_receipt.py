"""The pending receipt as stored: what is written reads back equal, every field is written (a field added to
the record but not to its snapshot would be lost at a restart), and the snapshot does not follow later changes."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given
from hypothesis import strategies as st

from fiscald.drivers.register.pending import Payment, PendingReceipt

payments = st.lists(st.builds(Payment, st.sampled_from(["cash", "card", "voucher"]), st.sampled_from(["P", "D", "1"]),
                              st.integers(0, 10**9)), max_size=4)
receipts = st.builds(
    PendingReceipt,
    request=st.fixed_dictionaries({"lines": st.lists(st.fixed_dictionaries({"description": st.text(max_size=8)}),
                                                     max_size=3)}),
    total_cents=st.integers(-10**9, 10**9), voided=st.booleans(),
    payments=st.dictionaries(st.sampled_from(["cash", "card"]), st.integers(0, 10**9)), plan=payments,
    items=st.integers(0, 500), lines=st.lists(st.text(max_size=10), max_size=3),
    pos_transactions=st.lists(st.fixed_dictionaries({"approved": st.booleans()}), max_size=2),
    before=st.none() | st.integers(0, 10**6), number=st.none() | st.integers(0, 10**6), opened=st.booleans(),
    operation_id=st.none() | st.text(max_size=8))


@given(receipts)
def test_a_stored_pending_receipt_reads_back_equal(pending: PendingReceipt) -> None:
    snapshot = pending.to_json()
    assert set(snapshot) == {f.name for f in dataclasses.fields(PendingReceipt)}
    assert PendingReceipt.from_json(json.loads(json.dumps(snapshot))) == pending


def test_the_snapshot_is_taken_when_asked() -> None:
    pending = PendingReceipt(request={"lines": []}, total_cents=100, voided=False, payments={"cash": 100},
                             plan=[Payment("cash", "P", 100)], items=1, lines=["A"])
    snapshot = pending.to_json()
    pending.number, pending.opened = 7, True  # set once the register opened it, after the snapshot was taken
    pending.lines.append("B")
    assert snapshot["number"] is None and snapshot["opened"] is False and snapshot["lines"] == ["A"]
