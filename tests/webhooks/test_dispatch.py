"""From events to work: targeted pulls for linked invoices, tenant pulls for money events,
contact events for the host."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bms_xero.engine import BmsStatus, SyncEngine
from bms_xero.jobs import (
    JobKind,
    JobStatus,
    JobStore,
    MemoryInvoiceSource,
    MemoryJobStore,
    SQLiteJobStore,
    Worker,
)
from bms_xero.storage import MemoryStore, SyncRecord, SyncState
from bms_xero.testing import FakeXero
from bms_xero.webhooks import WebhookEvent, WebhookReceiver, dispatch, parse_payload, sign
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import configure, invoice
from tests.webhooks._support import KEY, TENANT, delivery, event
from tests.webhooks.test_payload import spec_examples

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
OTHER_TENANT = "5b1f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
MONEY = ["PAYMENT", "CREDITNOTE", "PREPAYMENT", "OVERPAYMENT", "BATCHPAYMENT"]


@pytest.fixture(name="links")
def _links() -> MemoryStore:
    """Sync records: invoice I-1 (INV-1) is linked to Xero invoice X-1, I-2 to X-2."""
    store = MemoryStore()
    for n in (1, 2):
        store.put(
            SyncRecord(
                tenant_id=TENANT,
                invoice_id=f"I-{n}",
                invoice_number=f"INV-{n}",
                state=SyncState.PUSHED,
                xero_invoice_id=f"X-{n}",
            ),
            expected_version=None,
        )
    return store


@pytest.fixture(name="jobs", params=["memory", "sqlite"])
def _jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """Where the pulls go: the real in-memory store, then the real SQLite one."""
    store = MemoryJobStore() if request.param == "memory" else SQLiteJobStore(tmp_path / "j.db")
    with store:
        yield store


def pending(jobs: JobStore) -> list[tuple[JobKind, str, str | None]]:
    """The waiting jobs as (kind, tenant, invoice), sorted."""
    return sorted(
        (j.kind, j.tenant_id, j.invoice_id) for j in jobs.list_jobs(statuses=[JobStatus.PENDING])
    )


def test_invoice_events_of_linked_invoices_queue_targeted_pulls(
    links: MemoryStore, jobs: JobStore
) -> None:
    """Each INVOICE event for a linked invoice queues a refresh of that BMS invoice, named by
    its number."""
    payload = parse_payload(delivery(event("X-1"), event("X-2", event_type="CREATE")))
    report = dispatch(payload, jobs=jobs, links=links, now=NOW)
    assert [
        (JobKind.PULL_INVOICES, "I-1", "INV-1", NOW),
        (JobKind.PULL_INVOICES, "I-2", "INV-2", NOW),
    ] == [(j.kind, j.invoice_id, j.invoice_number, j.run_after) for j in report.enqueued]
    assert "Refresh invoice INV-1 from Xero" == report.enqueued[0].description
    assert () == report.pulls


def test_events_are_sorted_by_what_they_concern(links: MemoryStore, jobs: JobStore) -> None:
    """Contact events go to the host, unlinked invoices and subscriptions are reported, a
    credit note queues a tenant pull and a linked invoice its own."""
    payload = parse_payload(
        delivery(
            event("C-9", category="CONTACT"),
            event("X-unknown"),
            event("CN-1", category="CREDITNOTE"),
            event("S-1", category="SUBSCRIPTION") | {"tenantType": "APPLICATION"},
            event("X-1"),
        )
    )
    report = dispatch(payload, jobs=jobs, links=links, now=NOW)
    assert (["C-9"], ["X-unknown"], ["S-1"], ["I-1"], [TENANT]) == (
        [e.resource_id for e in report.contacts],
        [e.resource_id for e in report.unlinked],
        [e.resource_id for e in report.other],
        [j.invoice_id for j in report.enqueued],
        [j.tenant_id for j in report.pulls],
    )
    assert [(JobKind.PULL, TENANT, None), (JobKind.PULL_INVOICES, TENANT, "I-1")] == pending(jobs)


def test_repeated_events_and_redeliveries_leave_one_job_per_invoice(
    links: MemoryStore, jobs: JobStore
) -> None:
    """An event repeated in a delivery counts once; several events for one invoice, and the
    same delivery twice, leave one waiting job."""
    body = delivery(
        event("X-1"),
        event("X-1"),
        event("X-1", date="2026-01-05T09:20:00.000"),
    )
    first = dispatch(parse_payload(body), jobs=jobs, links=links, now=NOW)
    again = dispatch(parse_payload(body), jobs=jobs, links=links, now=NOW)
    assert (1, 1) == (first.duplicates, len(first.enqueued))
    assert first.enqueued == again.enqueued
    assert 1 == len(jobs.list_jobs(statuses=[JobStatus.PENDING]))


def test_other_tenants_are_left_alone_when_asked(links: MemoryStore, jobs: JobStore) -> None:
    """With tenant_ids, events of other tenants queue nothing and are reported as other."""
    payload = parse_payload(
        delivery(
            event("X-1"),
            event("X-1", tenant_id="someone-else"),
            event("P-1", category="PAYMENT", tenant_id="someone-else"),
        )
    )
    report = dispatch(payload, jobs=jobs, links=links, now=NOW, tenant_ids={TENANT})
    assert ([TENANT], [], ["someone-else", "someone-else"]) == (
        [j.tenant_id for j in report.enqueued],
        list(report.pulls),
        [e.tenant_id for e in report.other],
    )


class TestTenantPulls:
    @pytest.mark.parametrize("category", MONEY)
    def test_a_money_event_queues_one_pull_of_its_tenant(
        self, category: str, links: MemoryStore, jobs: JobStore
    ) -> None:
        """A payment, credit note, prepayment, overpayment or batch payment event queues one
        ordinary pull of its organisation, which reads the invoices it affects."""
        payload = parse_payload(delivery(event("R-1", category=category)))
        report = dispatch(payload, jobs=jobs, links=links, now=NOW)
        assert ([(JobKind.PULL, TENANT, None, NOW)], (), ()) == (
            [(j.kind, j.tenant_id, j.invoice_id, j.run_after) for j in report.pulls],
            report.enqueued,
            report.other,
        )

    def test_many_events_and_redeliveries_leave_one_pull_per_tenant(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """Money events of all kinds, for two tenants and delivered twice, leave one waiting
        pull per tenant: two calls each, however many events came."""
        body = delivery(
            *(event(f"R-{n}", category=c) for n, c in enumerate(MONEY)),
            event("P-9", category="PAYMENT", tenant_id=OTHER_TENANT),
            event("P-10", category="payment"),
        )
        first = dispatch(parse_payload(body), jobs=jobs, links=links, now=NOW)
        again = dispatch(parse_payload(body), jobs=jobs, links=links, now=NOW)
        assert [TENANT, OTHER_TENANT] == [j.tenant_id for j in first.pulls]
        assert first.pulls == again.pulls
        assert [(JobKind.PULL, OTHER_TENANT, None), (JobKind.PULL, TENANT, None)] == pending(jobs)

    def test_a_category_xero_adds_later_queues_a_pull(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """A category the library doesn't know yet means "pull soon", not "ignore"."""
        payload = parse_payload(delivery(event("Q-1", category="Quote")))
        report = dispatch(payload, jobs=jobs, links=links, now=NOW)
        assert ([TENANT], ()) == ([j.tenant_id for j in report.pulls], report.other)

    def test_a_subscription_event_queues_nothing(self, links: MemoryStore, jobs: JobStore) -> None:
        """A SUBSCRIPTION event concerns the app, not an organisation: reported, not acted on."""
        sub = event("S-1", category="SUBSCRIPTION", tenant_id="app-id") | {
            "tenantType": "APPLICATION"
        }
        report = dispatch(parse_payload(delivery(sub)), jobs=jobs, links=links, now=NOW)
        assert (["S-1"], (), []) == (
            [e.resource_id for e in report.other],
            report.pulls,
            jobs.list_jobs(),
        )

    def test_an_application_tenant_is_never_pulled(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """An unknown category whose tenant is an application has no organisation to pull."""
        odd = event("A-1", category="APPUSAGE", tenant_id="app-id") | {"tenantType": "Application"}
        report = dispatch(parse_payload(delivery(odd)), jobs=jobs, links=links, now=NOW)
        assert (["A-1"], []) == ([e.resource_id for e in report.other], jobs.list_jobs())

    def test_the_credit_note_example_of_the_spec_queues_a_pull(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """Xero's own credit note event (with its ``data``) queues a pull of its tenant."""
        [(_, example)] = [e for e in spec_examples() if "creditNote" in e[0]]
        payload = parse_payload(json.dumps(example).encode())
        report = dispatch(payload, jobs=jobs, links=links, now=NOW)
        assert [example["events"][0]["tenantId"]] == [j.tenant_id for j in report.pulls]


class TestReceiver:
    def test_a_delivery_is_verified_read_and_dispatched(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """The receiver answers 200 to a signed delivery, queues its pulls and hands contact
        events to the host."""
        seen: list[WebhookEvent] = []
        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=links, on_contact=seen.append)
        body = delivery(
            event("X-2"), event("C-1", category="CONTACT"), event("P-1", category="PAYMENT")
        )
        response = receiver(body, sign(body, KEY))
        assert response.dispatched is not None
        assert (200, None, ["I-2"], [TENANT], ["C-1"]) == (
            response.status,
            response.error,
            [j.invoice_id for j in response.dispatched.enqueued],
            [j.tenant_id for j in response.dispatched.pulls],
            [e.resource_id for e in seen],
        )

    def test_a_bad_signature_queues_nothing(self, links: MemoryStore, jobs: JobStore) -> None:
        """A delivery that fails the signature check is a 401 and changes nothing."""
        body = delivery(event("X-1"), event("P-1", category="PAYMENT"))
        response = WebhookReceiver(key=KEY, jobs=jobs, links=links)(body, sign(body, "other"))
        assert (401, None, []) == (response.status, response.error, jobs.list_jobs())

    def test_an_unsigned_unreadable_body_queues_nothing(
        self, links: MemoryStore, jobs: JobStore
    ) -> None:
        """Without the right signature there is no fallback pull, even with tenant_ids."""
        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=links, tenant_ids=[TENANT])
        body = b'{"events": "not a list"}'
        assert [(401, None), (401, None)] == [
            (r.status, r.dispatched) for r in (receiver(body, None), receiver(body, "bogus"))
        ]
        assert [] == jobs.list_jobs()

    @pytest.mark.parametrize("category", ["INVOICE", "PAYMENT"])
    def test_a_store_failure_still_gets_200(
        self, category: str, links: MemoryStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """If the pulls can't be queued the receiver logs it and answers 200 with the error:
        a 503 for 24 hours would get the webhook disabled, and the scheduled pull finds the
        change."""
        jobs = MemoryJobStore()
        jobs.close()  # every further call raises StorageError
        body = delivery(event("X-1", category=category))
        response = WebhookReceiver(key=KEY, jobs=jobs, links=links)(body, sign(body, KEY))
        assert (200, "StorageError", None) == (
            response.status,
            type(response.error).__name__,
            response.dispatched,
        )
        assert response.payload is not None
        assert "could not queue its pulls" in caplog.text
        assert KEY not in caplog.text

    def test_a_failing_contact_hook_does_not_fail_the_delivery(
        self, links: MemoryStore, jobs: JobStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An exception in on_contact is logged; the jobs stay queued and Xero gets 200."""

        def broken(_event: WebhookEvent) -> None:
            raise RuntimeError("host bug")

        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=links, on_contact=broken)
        body = delivery(event("X-1"), event("C-1", category="CONTACT"))
        response = receiver(body, sign(body, KEY))
        assert (200, None) == (response.status, response.error)
        assert 1 == len(jobs.list_jobs())
        assert "on_contact failed for contact C-1" in caplog.text


def pushed_and_settled(settle: str) -> tuple[FakeXero[Any], MemoryStore, SyncEngine, str, str]:
    """A FakeXero invoice pushed from the BMS (as I-1) and then settled in full in Xero by
    ``settle`` (``pay`` or ``credit``); returns its InvoiceID and the PaymentID or
    CreditNoteID."""
    xero = FakeXero(seed=5)
    contact = configure(xero, xero.tenant_id)
    store = MemoryStore()
    engine = SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=store,
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
    )
    pushed = engine.push(invoice(1, contact))
    assert pushed.xero_invoice_id is not None
    if settle == "pay":
        resource = xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    else:
        resource = xero.add_credit_note(pushed.xero_invoice_id, amount=Decimal("115.00"))
    return xero, store, engine, pushed.xero_invoice_id, resource


def test_a_webhook_brings_a_payment_back_through_a_worker(caplog: pytest.LogCaptureFixture) -> None:
    """End to end on FakeXero: push, pay in Xero, Xero's INVOICE webhook queues a pull, the
    worker runs it and the invoice shows as paid."""
    caplog.set_level(logging.INFO)
    xero, store, engine, xero_invoice_id, _ = pushed_and_settled("pay")
    jobs = MemoryJobStore()

    receiver = WebhookReceiver(key=KEY, jobs=jobs, links=store, clock=xero.clock)
    body = delivery(event(xero_invoice_id, tenant_id=xero.tenant_id))
    assert 200 == receiver(body, sign(body, KEY)).status
    report = Worker(engine, jobs, MemoryInvoiceSource(), clock=xero.clock).run_pending()
    assert [JobKind.PULL_INVOICES] == [j.kind for j in report.done]
    assert BmsStatus.PAID == engine.panel("I-1").status
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("settle", "category", "status"),
    [("pay", "PAYMENT", BmsStatus.PAID), ("credit", "CREDITNOTE", BmsStatus.CREDITED)],
)
def test_a_money_webhook_brings_the_settlement_back_through_a_worker(
    settle: str, category: str, status: BmsStatus
) -> None:
    """End to end on FakeXero: a PAYMENT (or CREDITNOTE) event names no invoice, yet the
    tenant pull it queues brings the settled invoice back."""
    xero, store, engine, _, resource = pushed_and_settled(settle)
    jobs = MemoryJobStore()
    receiver = WebhookReceiver(key=KEY, jobs=jobs, links=store, clock=xero.clock)
    body = delivery(event(resource, category=category, tenant_id=xero.tenant_id))
    response = receiver(body, sign(body, KEY))
    assert (200, None) == (response.status, response.error)
    report = Worker(engine, jobs, MemoryInvoiceSource(), clock=xero.clock).run_pending()
    assert [JobKind.PULL] == [j.kind for j in report.done]
    panel = engine.panel("I-1")
    assert (status, Decimal("0")) == (panel.status, panel.amount_due)
