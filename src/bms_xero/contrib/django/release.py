"""Invoice released, so queue its push: the one call a host makes from its own code.

The host's Release button (or whatever makes an invoice final) calls :func:`queue_push`
inside its own transaction, or sends the :data:`invoice_released` signal::

    from bms_xero.contrib.django.release import queue_push

    with transaction.atomic():
        invoice.status = "released"
        invoice.save()
        queue_push(str(invoice.pk), invoice_number=invoice.number)

The push job is enqueued when that transaction commits (``transaction.on_commit``), so a
release that rolls back never queues a push, and the worker never looks for an invoice the
BMS has not saved yet. Outside a transaction (autocommit) it is enqueued at once. The job
holds the invoice's id only: the worker loads the invoice through ``INVOICE_SOURCE`` when it
runs, so it pushes the invoice as it is then. Queueing an invoice that already has a push
waiting (or one that failed) leaves one live job for it (see ``docs/jobs.md``).

A process that dies between the commit and the enqueue loses that one enqueue (the release
itself is saved); the "Sync Invoice with Xero Invoice" button, or queueing the released
invoices again, pushes it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

from bms_xero.contrib.django import wiring

__all__ = ["invoice_released", "queue_link_customer", "queue_push"]

#: Sent by the host when an invoice is released: ``invoice_released.send(sender=Invoice,
#: invoice_id="42", invoice_number="INV-0042")``; the app queues its push on commit.
#: Optional arguments: ``tenant_id`` (default ``BMS_XERO['TENANT_ID']``) and ``using`` (the
#: database whose transaction must commit first; default ``BMS_XERO['DATABASE']``).
invoice_released = Signal()


def queue_push(
    invoice_id: str,
    *,
    invoice_number: str | None = None,
    tenant_id: str | None = None,
    using: str | None = None,
) -> None:
    """Queue the push of a released invoice, once the current transaction commits.

    Args:
        invoice_id: The BMS invoice id (a string; ``str(invoice.pk)``).
        invoice_number: Its number, so the Background Jobs list names it before it runs.
        tenant_id: The Xero organisation (default ``BMS_XERO['TENANT_ID']``).
        using: The database whose transaction the release is in (default
            ``BMS_XERO['DATABASE']``, where the jobs are).

    Raises:
        ConfigurationError: The invoice id is not a non-empty string, or the settings are
            wrong (checked now, before the transaction commits).
    """
    from bms_xero.errors import ConfigurationError

    if not isinstance(invoice_id, str) or not invoice_id.strip():
        raise ConfigurationError(
            f"queue_push needs the BMS invoice id as a non-empty string (str(invoice.pk)), "
            f"not {type(invoice_id).__name__}"
        )
    settings = wiring.get_settings()
    tenant = tenant_id or settings.tenant_id
    queue = settings.queue

    def enqueue() -> None:
        jobs = wiring.get_jobs()
        jobs.enqueue_push(
            tenant,
            invoice_id,
            invoice_number=invoice_number,
            now=wiring.get_clock().now(),
            queue=queue,
        )

    transaction.on_commit(enqueue, using=using or settings.database)


def queue_link_customer(
    customer_id: str, *, tenant_id: str | None = None, using: str | None = None
) -> None:
    """Queue linking a BMS customer to its Xero contact (found by ContactNumber, then by
    name, else created), once the current transaction commits. The worker runs it through
    ``BMS_XERO['CUSTOMER_SOURCE']``; queueing the same customer again leaves one live job.

    Args:
        customer_id: The BMS customer id, as the customer source's ``get_customer`` takes it.
        tenant_id: The Xero organisation (default ``BMS_XERO['TENANT_ID']``).
        using: The database whose transaction must commit first (default
            ``BMS_XERO['DATABASE']``).

    Raises:
        ConfigurationError: The id is not a non-empty string, or the settings are wrong.
    """
    from bms_xero.errors import ConfigurationError

    if not isinstance(customer_id, str) or not customer_id.strip():
        raise ConfigurationError(
            "queue_link_customer needs the BMS customer id as a non-empty string, not "
            f"{type(customer_id).__name__}"
        )
    settings = wiring.get_settings()
    tenant = tenant_id or settings.tenant_id
    queue = settings.queue

    def enqueue() -> None:
        wiring.get_jobs().enqueue_link_customer(
            tenant, customer_id, now=wiring.get_clock().now(), queue=queue
        )

    transaction.on_commit(enqueue, using=using or settings.database)


def _on_invoice_released(
    sender: Any,
    *,
    invoice_id: str,
    invoice_number: str | None = None,
    tenant_id: str | None = None,
    using: str | None = None,
    **_kwargs: Any,
) -> None:
    queue_push(invoice_id, invoice_number=invoice_number, tenant_id=tenant_id, using=using)


invoice_released.connect(_on_invoice_released, dispatch_uid="bms_xero.queue_push")
