"""Model-based: random operation sequences give the same results on MemoryStore and SQLiteStore."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bms_xero.errors import VersionConflict
from bms_xero.storage import MemoryStore, SQLiteStore, SyncRecord, SyncState

TENANTS = st.sampled_from(["t1", "t2"])
# Non-ASCII ids check that both stores order (and tie-break) by code point.
INVOICE_IDS = st.sampled_from(["a", "b", "Z", "é", "ẞ", "😀"])
NUMBERS = st.sampled_from(["N1", "N2", "N3"])
XERO_IDS = st.sampled_from(["X1", "X2", "X3"])
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=10)), timezone(timedelta(hours=-5, minutes=-30))]
)
# Bounded so every value still fits once converted to UTC; hypothesis wants naive bounds.
DATETIMES = st.datetimes(
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=ZONES,
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)  # no lone surrogates
MONEY = st.decimals(allow_nan=False, allow_infinity=False)
NAMES = st.sampled_from(["payments", "invoices"])


@st.composite
def records(draw: st.DrawFn) -> SyncRecord:
    def optional(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    return SyncRecord(
        tenant_id=draw(TENANTS),
        invoice_id=draw(INVOICE_IDS),
        invoice_number=draw(NUMBERS),
        state=draw(st.sampled_from(SyncState)),
        version=draw(st.integers(0, 9)),
        xero_invoice_id=optional(XERO_IDS),
        fingerprint=optional(TEXT),
        intent_key=optional(TEXT),
        intent_fingerprint=optional(TEXT),
        intent_at=optional(DATETIMES),
        last_push_at=optional(DATETIMES),
        last_pull_at=optional(DATETIMES),
        xero_status=optional(TEXT),
        total=optional(MONEY),
        amount_due=optional(MONEY),
        amount_paid=optional(MONEY),
        amount_credited=optional(MONEY),
        fully_paid_on=optional(st.dates()),
        xero_updated_at=optional(DATETIMES),
        last_error=optional(TEXT),
        last_error_at=optional(DATETIMES),
    )


# How a put chooses expected_version: insert, the stored version, one behind, or anything.
EXPECTATIONS = st.sampled_from(["insert", "current", "stale"]) | st.integers(0, 4)


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did, comparable across stores: its result or the conflict it raised."""
    try:
        return ("ok", call())
    except VersionConflict as conflict:
        return ("conflict", conflict.key, conflict.expected_version, conflict.actual_version)


class SameResults(RuleBasedStateMachine):
    """Applies each operation to a MemoryStore and a SQLiteStore and compares what happened."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory()
        self.memory = MemoryStore()
        self.sqlite = SQLiteStore(Path(self.directory.name) / "model.db", synchronous="NORMAL")

    def teardown(self) -> None:
        self.memory.close()
        self.sqlite.close()
        self.directory.cleanup()

    def both(self, call: Callable[[Any], Any]) -> Any:
        expected = outcome(lambda: call(self.memory))
        actual = outcome(lambda: call(self.sqlite))
        assert expected == actual
        return expected

    def expected_version(self, record: SyncRecord, how: str | int) -> int | None:
        if isinstance(how, int):
            return how
        current = self.memory.get(record.tenant_id, record.invoice_id)
        if how == "insert" or current is None:
            return None
        return current.version if how == "current" else current.version - 1

    @rule(record=records(), how=EXPECTATIONS)
    def put(self, record: SyncRecord, how: str | int) -> None:
        expected = self.expected_version(record, how)
        self.both(lambda s: s.put(record, expected_version=expected))

    @rule(batch=st.lists(st.tuples(records(), EXPECTATIONS), min_size=0, max_size=4))
    def put_many(self, batch: list[tuple[SyncRecord, str | int]]) -> None:
        entries = [(r, self.expected_version(r, how)) for r, how in batch]
        self.both(lambda s: s.put_many(entries))

    @rule(tenant=TENANTS, ids=st.lists(INVOICE_IDS, max_size=4))
    def get_many(self, tenant: str, ids: list[str]) -> None:
        self.both(lambda s: s.get_many(tenant, ids))

    @rule(tenant=TENANTS, ids=st.lists(XERO_IDS, max_size=4))
    def by_xero_ids(self, tenant: str, ids: list[str]) -> None:
        self.both(lambda s: s.by_xero_ids(tenant, ids))

    @rule(tenant=TENANTS, number=NUMBERS)
    def by_number(self, tenant: str, number: str) -> None:
        self.both(lambda s: s.by_number(tenant, number))

    @rule(tenant=TENANTS, states=st.none() | st.sets(st.sampled_from(SyncState)))
    def iter_records(self, tenant: str, states: set[SyncState] | None) -> None:
        self.both(lambda s: list(s.iter_records(tenant, states=states)))

    @rule(tenant=TENANTS, name=NAMES, value=DATETIMES)
    def set_cursor(self, tenant: str, name: str, value: datetime) -> None:
        self.both(lambda s: s.set_cursor(tenant, name, value))

    @rule(tenant=TENANTS, name=NAMES)
    def get_cursor(self, tenant: str, name: str) -> None:
        self.both(lambda s: s.get_cursor(tenant, name))

    @rule(tenant=TENANTS, customer=st.sampled_from(["C1", "C2"]), contact=TEXT.filter(bool))
    def set_contact_id(self, tenant: str, customer: str, contact: str) -> None:
        self.both(lambda s: s.set_contact_id(tenant, customer, contact))

    @rule(tenant=TENANTS, customer=st.sampled_from(["C1", "C2"]))
    def get_contact_id(self, tenant: str, customer: str) -> None:
        self.both(lambda s: s.get_contact_id(tenant, customer))

    @invariant()
    def same_records(self) -> None:
        # repr too: equal values must also look the same (e.g. no stray datetime fold).
        self.both(lambda s: [(r, repr(r)) for t in ("t1", "t2") for r in s.iter_records(t)])


SameResults.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestSameResults(SameResults.TestCase):  # type: ignore[valid-type,misc]
    """Random sequences of puts, batches, lookups, cursors and links agree on both stores."""
