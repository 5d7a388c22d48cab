"""From events to work: targeted pulls for linked invoices, contact events for the host."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bms_xero.engine import BmsStatus, SyncEngine
from bms_xero.errors import StorageError
from bms_xero.jobs import JobKind, JobStatus, MemoryInvoiceSource, MemoryJobStore, Worker
from bms_xero.storage import MemoryStore, SyncRecord, SyncState
from bms_xero.testing import FakeXero
from bms_xero.webhooks import WebhookEvent, WebhookReceiver, dispatch, parse_payload, sign
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import configure, invoice
from tests.webhooks._support import KEY, TENANT, delivery, event

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


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


@pytest.fixture(name="jobs")
def _jobs() -> MemoryJobStore:
    """Where the pulls go."""
    return MemoryJobStore()


def test_invoice_events_of_linked_invoices_queue_targeted_pulls(
    links: MemoryStore, jobs: MemoryJobStore
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


def test_events_are_sorted_by_what_they_concern(links: MemoryStore, jobs: MemoryJobStore) -> None:
    """Contact events go to the host, unlinked invoices and other categories are reported,
    and none of them queues a job."""
    payload = parse_payload(
        delivery(
            event("C-9", category="CONTACT"),
            event("X-unknown"),
            event("CN-1", category="CREDITNOTE"),
            event("X-1"),
        )
    )
    report = dispatch(payload, jobs=jobs, links=links, now=NOW)
    assert (["C-9"], ["X-unknown"], ["CN-1"], ["I-1"]) == (
        [e.resource_id for e in report.contacts],
        [e.resource_id for e in report.unlinked],
        [e.resource_id for e in report.other],
        [j.invoice_id for j in report.enqueued],
    )
    assert 1 == len(jobs.list_jobs())


def test_repeated_events_and_redeliveries_leave_one_job_per_invoice(
    links: MemoryStore, jobs: MemoryJobStore
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


def test_other_tenants_are_left_alone_when_asked(links: MemoryStore, jobs: MemoryJobStore) -> None:
    """With tenant_ids, events of other tenants queue nothing and are reported as other."""
    payload = parse_payload(delivery(event("X-1"), event("X-1", tenant_id="someone-else")))
    report = dispatch(payload, jobs=jobs, links=links, now=NOW, tenant_ids={TENANT})
    assert ([TENANT], ["someone-else"]) == (
        [j.tenant_id for j in report.enqueued],
        [e.tenant_id for e in report.other],
    )


class TestReceiver:
    def test_a_delivery_is_verified_read_and_dispatched(
        self, links: MemoryStore, jobs: MemoryJobStore
    ) -> None:
        """The receiver answers 200 to a signed delivery, queues its pulls and hands contact
        events to the host."""
        seen: list[WebhookEvent] = []
        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=links, on_contact=seen.append)
        body = delivery(event("X-2"), event("C-1", category="CONTACT"))
        response = receiver(body, sign(body, KEY))
        assert response.dispatched is not None
        assert (200, ["I-2"], ["C-1"]) == (
            response.status,
            [j.invoice_id for j in response.dispatched.enqueued],
            [e.resource_id for e in seen],
        )

    def test_a_bad_signature_queues_nothing(self, links: MemoryStore, jobs: MemoryJobStore) -> None:
        """A delivery that fails the signature check is a 401 and changes nothing."""
        body = delivery(event("X-1"))
        response = WebhookReceiver(key=KEY, jobs=jobs, links=links)(body, sign(body, "other"))
        assert (401, []) == (response.status, jobs.list_jobs())

    def test_a_store_failure_asks_xero_to_retry(self, links: MemoryStore) -> None:
        """If the pulls can't be queued the receiver answers 503, so Xero delivers again."""
        jobs = MemoryJobStore()
        jobs.close()
        body = delivery(event("X-1"))
        response = WebhookReceiver(key=KEY, jobs=jobs, links=links)(body, sign(body, KEY))
        assert (503, StorageError) == (response.status, type(response.error))

    def test_a_failing_contact_hook_does_not_fail_the_delivery(
        self, links: MemoryStore, jobs: MemoryJobStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An exception in on_contact is logged; the jobs stay queued and Xero gets 200."""

        def broken(_event: WebhookEvent) -> None:
            raise RuntimeError("host bug")

        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=links, on_contact=broken)
        body = delivery(event("X-1"), event("C-1", category="CONTACT"))
        assert 200 == receiver(body, sign(body, KEY)).status
        assert 1 == len(jobs.list_jobs())
        assert "on_contact failed for contact C-1" in caplog.text


def test_a_webhook_brings_a_payment_back_through_a_worker(caplog: pytest.LogCaptureFixture) -> None:
    """End to end on FakeXero: push, pay in Xero, Xero's INVOICE webhook queues a pull, the
    worker runs it and the invoice shows as paid."""
    caplog.set_level(logging.INFO)
    xero = FakeXero(seed=5)
    contact = configure(xero, xero.tenant_id)
    store, jobs = MemoryStore(), MemoryJobStore()
    engine = SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=store,
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
    )
    pushed = engine.push(invoice(1, contact))
    xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))

    receiver = WebhookReceiver(key=KEY, jobs=jobs, links=store, clock=xero.clock)
    body = delivery(event(pushed.xero_invoice_id, tenant_id=xero.tenant_id))
    assert 200 == receiver(body, sign(body, KEY)).status
    report = Worker(engine, jobs, MemoryInvoiceSource(), clock=xero.clock).run_pending()
    assert [JobKind.PULL_INVOICES] == [j.kind for j in report.done]
    assert BmsStatus.PAID == engine.panel("I-1").status
    assert KEY not in caplog.text
