"""Signed deliveries we can't read: always 200 with a typed error, and an ordinary pull instead.

Xero retries a delivery that did not get a 200 for 24 hours and then disables the webhook, so
a 400, 500 or 503 on a correctly signed body is a defect: these tests pin that no bytes at all
get anything but 200 (or 401 for a bad signature), fast, and that the receiver still queues
what it can.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero import webhooks
from bms_xero.clock import FakeClock
from bms_xero.errors import InvalidWebhook
from bms_xero.jobs import JobKind, JobStatus, JobStore, MemoryJobStore, SQLiteJobStore
from bms_xero.storage import MemoryStore
from bms_xero.webhooks import WebhookReceiver, handle, parse_payload, sign
from tests.webhooks._support import KEY, TENANT, delivery, event

OTHER_TENANT = "5b1f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
OUT_OF_RANGE = delivery(event("P-1", category="PAYMENT", date="/Date(99999999999999999999)/"))

#: Well inside the 5 seconds Xero waits for an answer, with room for a slow CI machine.
DEADLINE = timedelta(seconds=1)

# Bodies that strain each step of reading one: each must be a 200 with an InvalidWebhook.
UNREADABLE = {
    "not-json": b"{not json",
    "array": b"[]",
    "events-object": b'{"events": {}}',
    "event-number": b'{"events": [42]}',
    "not-utf8": b"\xff\xfe",
    "deep": b"[" * 100_000,
    "deep-in-an-event": b'{"events": [{"tenantId": ' + b"[" * 100_000 + b"}]}",
    "huge-number": b'{"events": [], "lastEventSequence": ' + b"9" * 5000 + b"}",
    "absurd-sequence": b'{"events": [], "firstEventSequence": 1e400}',
    "sequence-over-int32": b'{"events": [], "firstEventSequence": 2147483648}',
    "bad-date": delivery(event("x") | {"eventDateUtc": "yesterday"}),
    "date-year-10000": OUT_OF_RANGE,
    "date-year-0": delivery(event("x", date="0001-01-01T00:00:00+14:00")),
    "date-offset-out-of-range": delivery(event("x", date="/Date(0+9999)/")),
    "date-5000-digits": delivery(event("x", date="/Date(" + "9" * 5000 + ")/")),
    "date-number": delivery(event("x") | {"eventDateUtc": 1e308}),
    "lone-surrogate": delivery(event("x") | {"eventDateUtc": "\ud800"}),
    "no-tenant": delivery({k: v for k, v in event("x").items() if k != "tenantId"}),
    "nan-sequence": b'{"events": [], "firstEventSequence": NaN}',
    "huge-string": delivery(event("x") | {"eventDateUtc": "9" * 1_000_000}),
}


@pytest.fixture(name="jobs", params=["memory", "sqlite"])
def _jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """The real job stores: in memory, then SQLite."""
    store = MemoryJobStore() if request.param == "memory" else SQLiteJobStore(tmp_path / "j.db")
    with store:
        yield store


def receiver_for(jobs: JobStore, **kwargs: Any) -> WebhookReceiver:
    """A receiver with no linked invoices and a fixed clock."""
    return WebhookReceiver(key=KEY, jobs=jobs, links=MemoryStore(), clock=FakeClock(), **kwargs)


def pulls(jobs: JobStore) -> list[str]:
    """The tenants with a waiting ordinary pull, sorted."""
    waiting = jobs.list_jobs(statuses=[JobStatus.PENDING], kinds=[JobKind.PULL])
    return sorted(j.tenant_id for j in waiting)


class TestHandle:
    @pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
    def test_a_signed_unreadable_body_gets_200_and_the_typed_error(self, body: bytes) -> None:
        """A correctly signed body that is not a payload is answered 200 (never 400 or a
        traceback), quickly, with InvalidWebhook saying why and no payload."""
        started = time.perf_counter()
        response = handle(body, sign(body, KEY), KEY)
        elapsed = timedelta(seconds=time.perf_counter() - started)
        assert (200, b"", None, InvalidWebhook) == (
            response.status,
            response.body,
            response.payload,
            type(response.error),
        )
        assert elapsed < DEADLINE

    def test_the_out_of_range_date_of_the_issue_is_typed(self) -> None:
        """The year-10000 eventDateUtc that raised OverflowError out of handle() is now an
        InvalidWebhook naming the field."""
        response = handle(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY), KEY)
        assert isinstance(response.error, InvalidWebhook)
        assert response.error.reason.startswith("events[0].eventDateUtc:")
        assert "out of range" in response.error.reason

    @pytest.mark.parametrize("body", [b"{not json", OUT_OF_RANGE], ids=["not-json", "date"])
    def test_an_unsigned_unreadable_body_is_still_401(self, body: bytes) -> None:
        """Without the right signature the body is never read: 401, no error, no payload."""
        answers = [handle(body, s, KEY) for s in (None, "", "bogus", sign(body, "other"))]
        assert [(401, None, None)] * 4 == [(r.status, r.payload, r.error) for r in answers]

    def test_a_bug_while_reading_still_gets_200(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Should reading a signed body ever raise something untyped, handle logs it and
        answers 200 with an InvalidWebhook naming the exception, not a framework 500."""

        def broken(body: bytes) -> webhooks.WebhookPayload:
            raise ZeroDivisionError("a bug")

        monkeypatch.setattr(webhooks, "parse_payload", broken)
        body = delivery(event("x"))
        response = handle(body, sign(body, KEY), KEY)
        assert (200, "ZeroDivisionError while reading the body") == (
            response.status,
            response.error.reason if isinstance(response.error, InvalidWebhook) else None,
        )
        assert "ZeroDivisionError" in caplog.text


# --- any bytes at all --------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
# Dates as text, in every form parse_datetime reads, in range or just or far out of it.
FIRST_MS, LAST_MS = -62135596800000, 253402300799999  # 0001-01-01 and 9999-12-31, in ms
date_texts = st.one_of(
    st.integers().map(lambda n: f"/Date({n})/"),
    st.one_of(
        st.integers(LAST_MS - 1000, LAST_MS + 1000),
        st.integers(FIRST_MS - 1000, FIRST_MS + 1000),
        st.integers(LAST_MS, 10**22),
        st.integers(-(10**22), FIRST_MS),
    ).map(lambda n: f"/Date({n})/"),
    st.tuples(st.integers(), st.sampled_from("+-"), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"/Date({t[0]}{t[1]}{t[2]:02d}{t[3]:02d})/"
    ),
    st.datetimes().map(lambda d: d.isoformat()),
    st.tuples(st.datetimes(), st.integers(-23 * 60 - 59, 23 * 60 + 59)).map(
        lambda t: t[0].replace(tzinfo=timezone(timedelta(minutes=t[1]))).isoformat()
    ),
    st.tuples(
        # Naive on purpose: st.datetimes() takes naive bounds; the offset is added below.
        st.one_of(
            st.datetimes(min_value=datetime.max - timedelta(days=1)),  # noqa: DTZ901
            st.datetimes(max_value=datetime.min + timedelta(days=1)),  # noqa: DTZ901
        ),
        st.integers(-23 * 60 - 59, 23 * 60 + 59),
    ).map(lambda t: t[0].replace(tzinfo=timezone(timedelta(minutes=t[1]))).isoformat()),
    st.text(max_size=30),
)
categories = st.one_of(
    st.sampled_from(
        [
            "INVOICE",
            "contact",
            "SUBSCRIPTION",
            "PAYMENT",
            "CreditNote",
            "PREPAYMENT",
            "OVERPAYMENT",
            "BATCHPAYMENT",
            "QUOTE",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
# An event Xero could send but for its date or category: reaches the date parsing and dispatch.
plausible_event = st.fixed_dictionaries(
    {
        "resourceUrl": st.just("https://api.xero.com/api.xro/2.0/Payments/1"),
        "resourceId": st.uuids().map(str),
        "eventDateUtc": date_texts,
        "eventType": st.sampled_from(["CREATE", "Update"]),
        "eventCategory": categories,
        "tenantId": st.sampled_from([TENANT, OTHER_TENANT]),
        "tenantType": st.sampled_from(["ORGANISATION", "Application"]),
    },
    optional={"data": json_values},
)
# Any field may be anything.
wild_event = st.fixed_dictionaries(
    {},
    optional={
        name: st.one_of(date_texts, categories, json_values)
        for name in (
            "resourceUrl",
            "resourceId",
            "eventDateUtc",
            "eventType",
            "eventCategory",
            "tenantId",
            "tenantType",
        )
    },
)
sequences = st.one_of(st.integers(0, 2**31 - 1), st.integers(), json_values)
payload_like = st.fixed_dictionaries(
    {
        "events": st.one_of(
            st.lists(st.one_of(plausible_event, wild_event), max_size=4), json_values
        )
    },
    optional={
        "firstEventSequence": sequences,
        "lastEventSequence": sequences,
        "entropy": st.one_of(st.text(max_size=20), json_values),
    },
)
bodies = st.one_of(
    st.lists(plausible_event, max_size=3).map(lambda events: delivery(*events)),
    payload_like.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
    json_values.map(lambda v: json.dumps(v).encode()),
    # Nesting and escapes json.dumps never writes (a lone surrogate, a deep list in an event).
    st.tuples(st.integers(1, 3000), st.sampled_from([b"[", b'{"a":'])).map(
        lambda t: b'{"events": [{"tenantId": ' + t[1] * t[0] + b"}]}"
    ),
    st.sampled_from([b'"\\ud800"', b'{"events": [{"tenantId": "\\udfff"}]}']),
)


@settings(deadline=DEADLINE, max_examples=300)
@given(body=bodies)
def test_any_signed_body_gets_200_and_at_most_a_typed_error(body: bytes) -> None:
    """Whatever bytes arrive correctly signed, handle() answers 200 in time, with either a
    payload or an InvalidWebhook, and parse_payload() raises nothing but InvalidWebhook."""
    response = handle(body, sign(body, KEY), KEY)
    assert 200 == response.status
    assert (response.payload is None) == isinstance(response.error, InvalidWebhook)
    assert response.error is None or isinstance(response.error, InvalidWebhook)
    with contextlib.suppress(InvalidWebhook):  # anything else fails the test
        assert response.payload == parse_payload(body)


@settings(deadline=DEADLINE, max_examples=200)
@given(body=bodies, tenant_ids=st.one_of(st.none(), st.just([TENANT])))
def test_the_receiver_answers_any_signed_body_200(
    body: bytes, tenant_ids: list[str] | None
) -> None:
    """The receiver also answers 200 to any signed body, keeps at most a typed error and
    queues only pull jobs."""
    jobs = MemoryJobStore()
    response = receiver_for(jobs, tenant_ids=tenant_ids)(body, sign(body, KEY))
    assert (200, True) == (
        response.status,
        response.error is None or isinstance(response.error, InvalidWebhook),
    )
    assert {JobKind.PULL, JobKind.PULL_INVOICES} >= {j.kind for j in jobs.list_jobs()}


# --- the receiver's fallback pull --------------------------------------------------------------


class TestFallbackPull:
    def test_an_out_of_range_date_queues_a_pull_of_the_tenant_named(self, jobs: JobStore) -> None:
        """The issue's delivery gets 200, keeps its InvalidWebhook, and the receiver queues an
        ordinary pull of the tenant the event names."""
        response = receiver_for(jobs)(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY))
        assert response.dispatched is not None
        assert (200, InvalidWebhook, [TENANT], [TENANT]) == (
            response.status,
            type(response.error),
            [j.tenant_id for j in response.dispatched.pulls],
            pulls(jobs),
        )

    def test_redeliveries_leave_one_pull(self, jobs: JobStore) -> None:
        """Xero delivering the unreadable body again (it got 200, but at least once means
        maybe twice) leaves one waiting pull."""
        receiver = receiver_for(jobs)
        for _ in range(3):
            assert 200 == receiver(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY)).status
        assert [TENANT] == pulls(jobs)
        assert 1 == len(jobs.list_jobs())

    def test_the_tenants_served_are_pulled_when_given(self, jobs: JobStore) -> None:
        """With tenant_ids, an unreadable delivery pulls each tenant served, not what the body
        names (it could not be read)."""
        receiver = receiver_for(jobs, tenant_ids=[OTHER_TENANT, TENANT])
        body = delivery(event("P-1", tenant_id="not-served", date="/Date(99999999999999999999)/"))
        response = receiver(body, sign(body, KEY))
        assert (200, sorted([OTHER_TENANT, TENANT])) == (response.status, pulls(jobs))

    def test_tenants_are_found_leniently(self, jobs: JobStore) -> None:
        """Without tenant_ids, every non-blank string tenantId of an organisation in the
        events is pulled once; other items and application tenants are skipped."""
        body = json.dumps(
            {
                "events": [
                    42,
                    {"tenantId": f" {TENANT} ", "eventDateUtc": "/Date(99999999999999999999)/"},
                    {"tenantId": TENANT},
                    {"tenantId": OTHER_TENANT, "tenantType": "ORGANISATION", "resourceId": 7},
                    {"tenantId": "app-id", "tenantType": "application"},
                    {"tenantId": "  "},
                    {"tenantId": ["x"]},
                    "text",
                ],
                "firstEventSequence": 1,
            }
        ).encode()
        response = receiver_for(jobs)(body, sign(body, KEY))
        assert (200, InvalidWebhook, sorted([TENANT, OTHER_TENANT])) == (
            response.status,
            type(response.error),
            pulls(jobs),
        )

    @pytest.mark.parametrize(
        "body",
        [b"{not json", b'[{"tenantId": "t"}]', b'{"events": {"tenantId": "t"}}', b'{"e": []}'],
        ids=["not-json", "array", "events-object", "no-events"],
    )
    def test_no_tenant_found_warns_what_to_do(
        self, body: bytes, jobs: JobStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A body naming no tenant queues nothing; the warning tells the host to pass
        tenant_ids=, and Xero still gets 200 with the error."""
        response = receiver_for(jobs)(body, sign(body, KEY))
        assert (200, InvalidWebhook, None, []) == (
            response.status,
            type(response.error),
            response.dispatched,
            jobs.list_jobs(),
        )
        assert "pass tenant_ids=" in caplog.text

    def test_serving_no_tenant_queues_nothing(
        self, jobs: JobStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """tenant_ids=() means serve nobody: the body's tenants are not pulled either."""
        response = receiver_for(jobs, tenant_ids=())(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY))
        assert (200, []) == (response.status, jobs.list_jobs())
        assert "names no organisation" in caplog.text

    def test_a_store_failure_still_gets_200_with_the_error(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """If the fallback pull can't be queued, that is logged (without the key), Xero still
        gets 200, and the response keeps the InvalidWebhook of the body."""
        caplog.set_level(logging.DEBUG)
        jobs = MemoryJobStore()
        jobs.close()  # every further call raises StorageError
        response = receiver_for(jobs)(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY))
        assert (200, InvalidWebhook, None) == (
            response.status,
            type(response.error),
            response.dispatched,
        )
        assert "could not queue the fallback pulls" in caplog.text
        assert "StorageError" in caplog.text
        assert KEY not in caplog.text + repr(response)

    def test_a_readable_delivery_never_falls_back(self, jobs: JobStore) -> None:
        """A readable delivery with nothing to act on queues nothing, even with tenant_ids:
        the fallback is only for bodies that can't be read."""
        receiver = receiver_for(jobs, tenant_ids=[TENANT])
        body = delivery(event("X-unlinked"), event("C-1", category="CONTACT"))
        response = receiver(body, sign(body, KEY))
        assert (200, None, []) == (response.status, response.error, jobs.list_jobs())

    def test_the_fallback_pull_is_due_now(self, jobs: JobStore) -> None:
        """The fallback pull runs at the receiver clock's now, like any webhook pull."""
        clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=MemoryStore(), clock=clock)
        receiver(OUT_OF_RANGE, sign(OUT_OF_RANGE, KEY))
        assert [clock.now()] == [j.run_after for j in jobs.list_jobs()]
