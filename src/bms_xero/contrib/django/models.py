"""The app's tables: one model per bms_xero value, with the value's attribute names as fields.

A row holds exactly what the attrs value holds (:class:`bms_xero.storage.SyncRecord`,
:class:`bms_xero.storage.CreditNoteRecord`, :class:`bms_xero.jobs.Job`, the token values of
:mod:`bms_xero.storage`), so the admin and the host's own queries read the same names the SDK
documents, and :mod:`bms_xero.contrib.django.stores` converts a row to its value and back
without a mapping table. Every key starts with ``tenant_id`` (unique constraints mirror the
SQLite stores' primary keys), so one database serves several Xero organisations.

Stored exactly, so a value reads back equal to what was written on every database:

- money is :class:`ExactDecimalField`: the Decimal's own text (``"23.1000"`` stays
  ``"23.1000"``; a ``DecimalField`` would round it to its ``decimal_places``);
- datetimes are ``DateTimeField`` (aware, UTC; the host must set ``USE_TZ = True``);
- counters that may hold Xero's UpdatedDateUTC in milliseconds are 64-bit.

Write through the stores, not through these models: the stores compare-and-swap on
``version`` and apply the job rules of :mod:`bms_xero.jobs`; a row changed behind their back
can break a worker's lease or hide a payment from the host.
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

import bms_xero.jobs
import bms_xero.storage
from bms_xero.jobs import JobKind, JobStatus
from bms_xero.storage import CreditNoteState, SyncState

__all__ = [
    "KEY_LENGTH",
    "CreditNote",
    "Cursor",
    "CustomerLink",
    "ExactDecimalField",
    "Job",
    "RefreshLease",
    "SyncRecord",
    "TenantPark",
    "Token",
]

#: The longest id a key column holds (tenant, invoice, customer, job, connection ids). The
#: stores refuse a longer one with a StorageValueError before writing, on every database.
KEY_LENGTH = 255
#: The longest short text (Xero ids, statuses, fingerprints, idempotency keys, class names).
_TEXT = 255
#: The longest money text: a Decimal's ``str()``, sign and exponent included.
_MONEY = 64
_ENUM = 32


def _choices(kind: type[enum.StrEnum]) -> list[tuple[str, str]]:
    """``[("pull_invoices", "Pull invoices"), ...]``: the values the SDK writes, as people
    read them in the admin. Adding a member changes the choices: run ``makemigrations``."""
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in kind]


class ExactDecimalField(models.CharField):  # type: ignore[misc]  # Django ships no types
    """A :class:`~decimal.Decimal` kept as its exact text: every digit and the exponent
    survive (``Decimal("0.10")`` reads back as ``Decimal("0.10")``), on SQLite as on
    PostgreSQL. The attribute is a Decimal (or ``None``).

    The column is text, so the database neither sums nor orders it as a number: the SDK
    never asks it to, and a report that does should cast (``Cast(field, DecimalField())``).
    """

    description = "A decimal number kept exactly, as text"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", _MONEY)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[Any, ...]:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == _MONEY:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else Decimal(value)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(
                f"{value!r} is not a decimal number; enter digits like 12.50",
                code="invalid",
            ) from exc
        if not number.is_finite():
            raise ValidationError(
                f"{value!r} is not a finite amount; enter digits like 12.50", code="invalid"
            )
        return number

    def get_prep_value(self, value: Any) -> str | None:
        number = self.to_python(value)
        return None if number is None else str(number)


def _fields_of(value: type[Any]) -> tuple[str, ...]:
    """The field names of an attrs value, in its order (a model's columns of the same name)."""
    return tuple(field.name for field in attrs.fields(value))


def _key(**options: Any) -> Any:
    return models.CharField(max_length=KEY_LENGTH, **options)


def _text(**options: Any) -> Any:
    """Optional short text: ``NULL`` is "not known" (the value's ``None``), never ``""``."""
    return models.CharField(max_length=_TEXT, null=True, blank=True, **options)


def _long_text(**options: Any) -> Any:
    return models.TextField(null=True, blank=True, **options)


def _when(**options: Any) -> Any:
    return models.DateTimeField(null=True, blank=True, **options)


def _money() -> Any:
    return ExactDecimalField(null=True, blank=True)


class SyncRecord(models.Model):  # type: ignore[misc]  # Django ships no types
    """One BMS invoice's link to its Xero invoice: :class:`bms_xero.storage.SyncRecord`."""

    tenant_id = _key()
    invoice_id = _key()
    invoice_number = _key()
    state = models.CharField(max_length=_ENUM, choices=_choices(SyncState))
    version = models.BigIntegerField()
    xero_invoice_id = _text()
    fingerprint = _text()
    intent_key = _text()
    intent_fingerprint = _text()
    intent_at = _when()
    last_push_at = _when()
    last_pull_at = _when()
    xero_status = _text()
    total = _money()
    amount_due = _money()
    amount_paid = _money()
    amount_credited = _money()
    fully_paid_on = models.DateField(null=True, blank=True)
    xero_updated_at = _when()
    last_error = _long_text()
    last_error_at = _when()
    last_error_type = _text()
    paid_by_prepayments = _money()
    paid_by_overpayments = _money()
    #: ``[[kind, id, amount, date, reference], ...]``: amounts as exact text, dates ISO.
    allocations = models.JSONField(default=list, blank=True)
    money_version = models.BigIntegerField(default=0)
    told_version = models.BigIntegerField(default=0)
    told_status = _text()
    delivered = models.BooleanField(default=False)
    view_url = _long_text()
    online_invoice_url = _long_text()
    emailed_at = _when()

    class Meta:
        verbose_name = "sync record"
        verbose_name_plural = "Sync records"
        constraints = (
            models.UniqueConstraint(
                fields=["tenant_id", "invoice_id"], name="bms_xero_sync_record_key"
            ),
        )
        indexes = (
            models.Index(fields=["tenant_id", "xero_invoice_id"], name="bms_xero_sync_xero_id"),
            models.Index(fields=["tenant_id", "invoice_number"], name="bms_xero_sync_number"),
            models.Index(fields=["tenant_id", "state"], name="bms_xero_sync_state"),
            # The outbox: only records waiting for delivery are in it, so finding them
            # costs what is due, not what is stored.
            models.Index(
                fields=["tenant_id", "invoice_id"],
                condition=Q(money_version__gt=F("told_version")),
                name="bms_xero_sync_undelivered",
            ),
        )

    def __str__(self) -> str:
        return f"invoice {self.invoice_number} ({self.state})"

    def as_value(self) -> bms_xero.storage.SyncRecord:
        """The row as the SDK's value (``settlement``, ``delivery_due``, ...).

        Raises:
            StorageValueError: The row was changed into something no record can be.
        """
        from bms_xero.contrib.django.stores import record_from_row

        return record_from_row(
            [getattr(self, name) for name in _fields_of(bms_xero.storage.SyncRecord)]
        )


class CreditNote(models.Model):  # type: ignore[misc]  # Django ships no types
    """One BMS credit note's link to Xero: :class:`bms_xero.storage.CreditNoteRecord`."""

    tenant_id = _key()
    credit_note_id = _key()
    credit_note_number = _key()
    invoice_id = _key()
    state = models.CharField(max_length=_ENUM, choices=_choices(CreditNoteState))
    version = models.BigIntegerField()
    xero_credit_note_id = _text()
    xero_invoice_id = _text()
    fingerprint = _text()
    intent_key = _text()
    intent_fingerprint = _text()
    intent_at = _when()
    allocation_key = _text()
    allocation_at = _when()
    allocated = _money()
    total = _money()
    remaining_credit = _money()
    xero_status = _text()
    last_push_at = _when()
    last_error = _long_text()
    last_error_at = _when()
    view_url = _long_text()
    policy = _text()

    class Meta:
        verbose_name = "credit note record"
        verbose_name_plural = "Credit note records"
        constraints = (
            models.UniqueConstraint(
                fields=["tenant_id", "credit_note_id"], name="bms_xero_credit_note_key"
            ),
        )
        indexes = (
            models.Index(fields=["tenant_id", "invoice_id"], name="bms_xero_credit_invoice"),
        )

    def __str__(self) -> str:
        return f"credit note {self.credit_note_number} ({self.state})"

    def as_value(self) -> bms_xero.storage.CreditNoteRecord:
        """The row as the SDK's value (raises StorageValueError for a row no record can be)."""
        from bms_xero.contrib.django.stores import credit_note_from_row

        return credit_note_from_row(
            [getattr(self, name) for name in _fields_of(bms_xero.storage.CreditNoteRecord)]
        )


class Cursor(models.Model):  # type: ignore[misc]  # Django ships no types
    """A named high-water mark per tenant (``CursorStore``), e.g. where the pull got to."""

    tenant_id = _key()
    name = _key()
    value = models.DateTimeField()

    class Meta:
        verbose_name = "sync cursor"
        verbose_name_plural = "Sync cursors"
        constraints = (
            models.UniqueConstraint(fields=["tenant_id", "name"], name="bms_xero_cursor_key"),
        )

    def __str__(self) -> str:
        return f"{self.name} at {self.value:%Y-%m-%d %H:%M:%S} UTC"


class CustomerLink(models.Model):  # type: ignore[misc]  # Django ships no types
    """A BMS customer's Xero ContactID, per tenant (``CustomerLinkStore``)."""

    tenant_id = _key()
    customer_id = _key()
    contact_id = models.CharField(max_length=_TEXT)

    class Meta:
        verbose_name = "customer link"
        verbose_name_plural = "Customer links"
        constraints = (
            models.UniqueConstraint(
                fields=["tenant_id", "customer_id"], name="bms_xero_customer_link_key"
            ),
        )

    def __str__(self) -> str:
        return f"customer {self.customer_id} -> Xero contact {self.contact_id}"


class Job(models.Model):  # type: ignore[misc]  # Django ships no types
    """One background job: :class:`bms_xero.jobs.Job`. Its ``id`` is the job's id."""

    id = models.CharField(primary_key=True, max_length=KEY_LENGTH)
    tenant_id = _key()
    kind = models.CharField(max_length=_ENUM, choices=_choices(JobKind))
    queue = models.CharField(max_length=KEY_LENGTH, default="default")
    invoice_id = _key(null=True, blank=True)
    invoice_number = _text()
    customer_id = _key(null=True, blank=True)
    status = models.CharField(max_length=_ENUM, choices=_choices(JobStatus))
    attempts = models.IntegerField(default=0)
    run_after = models.DateTimeField()
    leased_by = _text()
    lease_until = _when()
    last_error = _long_text()
    error_type = _text()
    retryable = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = "background job"
        verbose_name_plural = "Background jobs"
        indexes = (
            # What a worker leases: due work of its queues.
            models.Index(fields=["status", "queue", "run_after"], name="bms_xero_job_due"),
            # One live job per piece of work: enqueue and complete find its twins.
            models.Index(
                fields=["tenant_id", "kind", "invoice_id", "status"], name="bms_xero_job_work"
            ),
            models.Index(
                fields=["tenant_id", "kind", "customer_id", "status"],
                name="bms_xero_job_customer",
            ),
            # The Background Jobs list: newest first.
            models.Index(fields=["created_at", "id"], name="bms_xero_job_created"),
            models.Index(fields=["invoice_id"], name="bms_xero_job_invoice"),
            models.Index(fields=["status", "updated_at"], name="bms_xero_job_finished"),
        )

    def __str__(self) -> str:
        subject = self.invoice_number or self.invoice_id or self.customer_id or self.kind or "job"
        return f"{self.kind} {subject} ({self.status})"

    def as_value(self) -> bms_xero.jobs.Job:
        """The row as the SDK's value (``description``, ``subject``, ``needs_reconnect``...).

        Raises:
            StorageValueError: The row was changed into something no job can be.
        """
        from bms_xero.contrib.django.stores import job_from_row

        return job_from_row([getattr(self, name) for name in _fields_of(bms_xero.jobs.Job)])


class TenantPark(models.Model):  # type: ignore[misc]  # Django ships no types
    """A tenant whose jobs no worker leases before ``until`` (Xero's day limit was hit)."""

    tenant_id = _key(unique=True)
    until = models.DateTimeField()

    class Meta:
        verbose_name = "parked tenant"
        verbose_name_plural = "Parked tenants"

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} parked until {self.until:%Y-%m-%d %H:%M} UTC"


class Token(models.Model):  # type: ignore[misc]  # Django ships no types
    """One Xero connection's tokens (``TokenStore``), compare-and-swap on ``version``.

    The tokens are plain text in the host's database: restrict who can read this table
    as you would a password column. ``str()`` and ``repr()`` never show a token.
    """

    connection_id = _key(unique=True)
    version = models.BigIntegerField()
    access_token = models.TextField()
    refresh_token = models.TextField(null=True, blank=True)
    expires_at = models.DateTimeField()
    #: Space-separated, as Xero grants them.
    scopes = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "Xero connection"
        verbose_name_plural = "Xero connections"

    def __str__(self) -> str:
        return f"Xero connection {self.connection_id}"


class RefreshLease(models.Model):  # type: ignore[misc]  # Django ships no types
    """Who is refreshing a connection's tokens, until when (``RefreshLease``)."""

    connection_id = _key(unique=True)
    holder = models.CharField(max_length=_TEXT)
    until = models.DateTimeField()

    class Meta:
        verbose_name = "token refresh lease"
        verbose_name_plural = "Token refresh leases"

    def __str__(self) -> str:
        return f"refresh of {self.connection_id} held by {self.holder}"
