"""``queue_push`` and the ``invoice_released`` signal: a released invoice's push is queued
when the release commits, never when it rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.release import invoice_released, queue_push
from bms_xero.errors import ConfigurationError
from bms_xero.jobs import JobKind, JobStatus
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App


def queued() -> list[tuple[str | None, str | None, JobKind, JobStatus, str]]:
    return [
        (j.invoice_id, j.invoice_number, j.kind, j.status, j.queue)
        for j in wiring.get_jobs().list_jobs()
    ]


def test_the_push_is_queued_when_the_release_commits(app: App) -> None:
    """Inside the host's transaction nothing is queued yet; at commit the push is."""
    with transaction.atomic():
        queue_push("I-1", invoice_number="INV-0001")
        inside = queued()
    assert ([], [("I-1", "INV-0001", JobKind.PUSH, JobStatus.PENDING, "default")]) == (
        inside,
        queued(),
    )


def test_a_release_that_rolls_back_queues_nothing(app: App) -> None:
    """A release whose transaction rolls back never queues a push."""

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        queue_push("I-1", invoice_number="INV-0001")
        raise Refused
    assert [] == queued()


def test_outside_a_transaction_it_is_queued_at_once(app: App) -> None:
    """In autocommit (no atomic block) the push is queued at once."""
    queue_push("I-1")
    assert [("I-1", None, JobKind.PUSH, JobStatus.PENDING, "default")] == queued()


def test_releasing_twice_leaves_one_job(app: App) -> None:
    """Two releases of the same invoice leave one waiting push, with the newer number."""
    queue_push("I-1", invoice_number="INV-1")
    queue_push("I-1", invoice_number="INV-0001")
    assert [("I-1", "INV-0001", JobKind.PUSH, JobStatus.PENDING, "default")] == queued()


def test_the_signal_queues_the_push_on_commit(app: App) -> None:
    """``invoice_released.send(...)`` does what queue_push does."""
    with transaction.atomic():
        invoice_released.send(sender=None, invoice_id="I-7", invoice_number="INV-0007")
        assert [] == queued()
    assert [("I-7", "INV-0007", JobKind.PUSH, JobStatus.PENDING, "default")] == queued()


def test_the_configured_queue_is_used(app: App) -> None:
    """Pushes go to ``BMS_XERO['QUEUE']``, the queue the host's worker takes."""
    with app.settings(QUEUE="web"):
        queue_push("I-1")
        assert ["web"] == [j.queue for j in wiring.get_jobs().list_jobs()]


def test_an_id_that_is_not_a_string_is_refused_at_once(app: App) -> None:
    """``queue_push(invoice.pk)`` with an int is refused before the transaction commits,
    saying to pass ``str(invoice.pk)``."""
    with pytest.raises(ConfigurationError) as caught:
        queue_push(42)  # type: ignore[arg-type]
    assert "(str(invoice.pk))" in str(caught.value)


def test_a_customer_link_is_queued_on_commit(app: App) -> None:
    """queue_link_customer queues one link job per customer, when the transaction commits."""
    from bms_xero.contrib.django.release import queue_link_customer

    with transaction.atomic():
        queue_link_customer("C-2")
        queue_link_customer("C-2")
        assert [] == wiring.get_jobs().list_jobs()
    assert [(JobKind.LINK_CUSTOMER, "C-2", JobStatus.PENDING)] == [
        (j.kind, j.customer_id, j.status) for j in wiring.get_jobs().list_jobs()
    ]
