"""What both built-in job stores share: the enqueue front and the context-manager shell."""

from __future__ import annotations

import abc
from datetime import datetime
from types import TracebackType
from typing import Self

from bms_xero.jobs._records import DEFAULT_QUEUE, Job, JobKind

__all__ = ["JobStoreBase"]


class JobStoreBase(abc.ABC):
    """The public enqueue calls on top of one ``_enqueue``; ``with store:`` closes it."""

    def enqueue_push(
        self,
        tenant_id: str,
        invoice_id: str,
        *,
        now: datetime,
        invoice_number: str | None = None,
        queue: str = DEFAULT_QUEUE,
    ) -> Job:
        """Queue a push of this invoice (or return the push already waiting for it)."""
        return self._enqueue(
            tenant_id, JobKind.PUSH, invoice_id, invoice_number, now, queue=queue
        )

    def enqueue_pull(
        self,
        tenant_id: str,
        *,
        now: datetime,
        invoice_id: str | None = None,
        invoice_number: str | None = None,
        queue: str = DEFAULT_QUEUE,
    ) -> Job:
        """Queue a full pull, or a refresh of one invoice (or return the one waiting)."""
        kind = JobKind.PULL if invoice_id is None else JobKind.PULL_INVOICES
        return self._enqueue(tenant_id, kind, invoice_id, invoice_number, now, queue=queue)

    def enqueue_link_customer(
        self, tenant_id: str, customer_id: str, *, now: datetime, queue: str = DEFAULT_QUEUE
    ) -> Job:
        """Queue linking this customer to its Xero contact (or return the one waiting)."""
        return self._enqueue(
            tenant_id, JobKind.LINK_CUSTOMER, None, None, now, queue=queue, customer_id=customer_id
        )

    @abc.abstractmethod
    def _enqueue(
        self,
        tenant_id: str,
        kind: JobKind,
        invoice_id: str | None,
        invoice_number: str | None,
        now: datetime,
        *,
        queue: str,
        customer_id: str | None = None,
    ) -> Job:
        """Queue a job of ``kind`` (or return, or revive, the job doing the same work)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; further use raises StorageError."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
