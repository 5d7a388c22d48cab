"""Xero webhooks: check the signature, read the events, queue the pulls they call for.

Xero posts a thin payload (which resources changed, never what changed) signed with the
webhook key: ``x-xero-signature`` is the base64 HMAC-SHA256 of the raw body. The endpoint
must answer 200 to a correctly signed delivery and 401 to any other, within 5 seconds and
with an empty body; Xero's "Intent to Receive" handshake checks exactly that before it turns
the webhook on. There is no payment webhook: an INVOICE event only says "pull this invoice
sooner", and the pull is where payments come from.

Framework-neutral, in layers:

- :func:`verify_signature` (constant time) and :func:`sign`;
- :func:`parse_payload`: body bytes to a :class:`WebhookPayload` of :class:`WebhookEvent`;
- :func:`handle`: both, as the status to answer (401 before any parsing; 400, never a
  traceback, for a signed body that can't be read);
- :func:`dispatch`: INVOICE events for invoices this BMS pushed become targeted pull jobs
  (one per invoice, deduplicated); CONTACT events are handed back for the host;
- :class:`WebhookReceiver`: all of it behind one call, for a route handler. See
  ``examples/webhook_flask.py`` and ``examples/webhook_starlette.py``.

The webhook key is a secret: it never appears in a repr, a log line or an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.errors import ConfigurationError, InvalidWebhook
from bms_xero.jobs.protocols import JobStore
from bms_xero.jobs.records import Job
from bms_xero.mapping.dates import parse_datetime
from bms_xero.storage.records import SyncRecord

__all__ = [
    "SIGNATURE_HEADER",
    "DispatchReport",
    "WebhookEvent",
    "WebhookPayload",
    "WebhookReceiver",
    "WebhookResponse",
    "XeroLinks",
    "dispatch",
    "handle",
    "parse_payload",
    "sign",
    "verify_signature",
]

log = logging.getLogger("bms_xero.webhooks")

#: The request header that carries the signature (frameworks match it case-insensitively).
SIGNATURE_HEADER: Final = "x-xero-signature"

_INVOICE: Final = "INVOICE"
_CONTACT: Final = "CONTACT"
_EVENT_FIELDS: Final = {
    "resourceUrl": "resource_url",
    "resourceId": "resource_id",
    "eventDateUtc": "event_date_utc",
    "eventType": "event_type",
    "eventCategory": "event_category",
    "tenantId": "tenant_id",
    "tenantType": "tenant_type",
}


# --- signature ---------------------------------------------------------------------------------


def _key_bytes(key: str) -> bytes:
    if not isinstance(key, str) or not key:
        raise ConfigurationError(
            "the webhook key must be the non-empty string shown in Xero's developer portal "
            "(My Apps > your app > Webhooks)"
        )
    return key.encode("utf-8")


def _body_bytes(body: object) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise TypeError(
        f"the webhook body must be the raw request bytes, not {type(body).__name__}; a decoded "
        "or re-serialised body no longer matches Xero's signature"
    )


def sign(body: bytes, key: str) -> str:
    """Xero's signature of ``body``: base64 of HMAC-SHA256 with the webhook key (UTF-8).

    For tests and fakes that play Xero's part.
    """
    digest = hmac.new(_key_bytes(key), _body_bytes(body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, signature: str | bytes | None, key: str) -> bool:
    """Whether ``signature`` (the ``x-xero-signature`` header) signs ``body`` with ``key``.

    Compares in constant time. A missing, empty or non-ASCII signature is simply wrong.

    Raises:
        ConfigurationError: ``key`` is empty (a deployment mistake, not a bad request).
        TypeError: ``body`` is not bytes (it must be the raw body, byte for byte).
    """
    expected = sign(body, key).encode("ascii")
    if signature is None:
        return False
    if isinstance(signature, str):
        try:
            given = signature.strip().encode("ascii")
        except UnicodeEncodeError:
            return False
    else:
        given = bytes(signature).strip()
    return bool(given) and hmac.compare_digest(expected, given)


# --- payload -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One change Xero tells us about (fetch the resource to see what changed).

    Attributes:
        resource_url: Where to GET the resource.
        resource_id: Its id (e.g. the InvoiceID or ContactID).
        event_date_utc: When it happened (aware, UTC).
        event_type: ``CREATE`` or ``UPDATE`` (upper-cased; Xero's case varies).
        event_category: ``INVOICE``, ``CONTACT``, ``CREDITNOTE``, ``SUBSCRIPTION``, or a
            category Xero added later (upper-cased, kept as is).
        tenant_id: The organisation (or, for subscriptions, the application).
        tenant_type: ``ORGANISATION`` or ``APPLICATION``.
    """

    resource_url: str
    resource_id: str
    event_date_utc: datetime
    event_type: str
    event_category: str
    tenant_id: str
    tenant_type: str

    @property
    def key(self) -> tuple[str, str, datetime]:
        """``(tenant_id, resource_id, event_date_utc)``: the same event delivered twice has
        the same key."""
        return (self.tenant_id, self.resource_id, self.event_date_utc)


@attrs.frozen(kw_only=True)
class WebhookPayload:
    """One delivery from Xero.

    Attributes:
        events: The events, in Xero's order (empty for an Intent to Receive probe).
        first_event_sequence: Xero's sequence number of the first event.
        last_event_sequence: Xero's sequence number of the last event.
        entropy: Xero's random string (makes every signature different).
    """

    events: tuple[WebhookEvent, ...]
    first_event_sequence: int
    last_event_sequence: int
    entropy: str

    @property
    def is_intent_to_receive(self) -> bool:
        """Whether this is Xero's handshake probe (no events)."""
        return not self.events


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidWebhook(reason=f"{where}.{name}: missing or not a non-empty string")
    return value.strip()


def _sequence(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidWebhook(reason=f"{name}: must be a whole number >= 0, not {value!r}")
    return value


def _event(item: object, where: str) -> WebhookEvent:
    if not isinstance(item, dict):
        raise InvalidWebhook(reason=f"{where}: must be an object")
    values: dict[str, Any] = {
        ours: _text(item, theirs, where) for theirs, ours in _EVENT_FIELDS.items()
    }
    try:
        values["event_date_utc"] = parse_datetime(values["event_date_utc"])
    except ValueError:
        raise InvalidWebhook(
            reason=f"{where}.eventDateUtc: {values['event_date_utc']!r} is not a date and time"
        ) from None
    for name in ("event_type", "event_category", "tenant_type"):
        values[name] = values[name].upper()  # Xero has sent both "Update" and "UPDATE"
    return WebhookEvent(**values)


def parse_payload(body: bytes) -> WebhookPayload:
    """Read a webhook body (the raw bytes Xero signed).

    Tolerant where Xero varies (case of enum values, extra fields, sequence numbers of 0 on
    the handshake), strict about what a pull needs (every event's ids, category and date).

    Raises:
        InvalidWebhook: The body is not JSON, or not the payload's shape; ``reason`` says where.
        TypeError: ``body`` is not bytes.
    """
    raw = _body_bytes(body)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidWebhook(reason="not UTF-8 text") from None
    except json.JSONDecodeError as e:
        where = f"{e.msg} at line {e.lineno} column {e.colno}"
        raise InvalidWebhook(reason=f"not JSON ({where})") from None
    except (ValueError, RecursionError):  # absurdly long numbers, absurdly deep nesting
        raise InvalidWebhook(
            reason="not JSON we can read (too large or too deeply nested)"
        ) from None
    if not isinstance(data, dict):
        raise InvalidWebhook(reason="the body must be a JSON object")
    events = data.get("events")
    if not isinstance(events, list):
        raise InvalidWebhook(reason="events: missing or not a list")
    entropy = data.get("entropy", "")
    if not isinstance(entropy, str):
        raise InvalidWebhook(reason="entropy: must be a string")
    return WebhookPayload(
        events=tuple(_event(item, f"events[{i}]") for i, item in enumerate(events)),
        first_event_sequence=_sequence(data, "firstEventSequence"),
        last_event_sequence=_sequence(data, "lastEventSequence"),
        entropy=entropy,
    )


# --- one request -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class WebhookResponse:
    """What to answer Xero: ``status`` with an empty body.

    Attributes:
        status: 200 (signed and read), 401 (bad or missing signature), 400 (signed but
            unreadable), or 503 (our side failed while queueing: Xero delivers it again).
        payload: The delivery, when it was signed and readable.
        error: Why the body could not be read (400), or what failed (503).
        dispatched: What :class:`WebhookReceiver` did with the events, when it ran.
    """

    status: int
    payload: WebhookPayload | None = None
    error: Exception | None = None
    dispatched: DispatchReport | None = None

    @property
    def ok(self) -> bool:
        """Whether the answer is 200."""
        return self.status == 200

    @property
    def body(self) -> bytes:
        """Always empty: Xero wants no response body."""
        return b""


def handle(body: bytes, signature: str | bytes | None, key: str) -> WebhookResponse:
    """Check and read one delivery: 401 unless the signature is right (before any parsing),
    400 if a signed body can't be read, else 200 with the payload.

    This alone answers Xero's Intent to Receive handshake.
    """
    if not verify_signature(body, signature, key):
        log.warning("webhook refused: the x-xero-signature does not match the body (401)")
        return WebhookResponse(status=401)
    try:
        payload = parse_payload(body)
    except InvalidWebhook as e:
        log.warning("webhook refused: %s (400)", e.reason)
        return WebhookResponse(status=400, error=e)
    return WebhookResponse(status=200, payload=payload)


# --- dispatch ----------------------------------------------------------------------------------


class XeroLinks(Protocol):
    """Which Xero invoices this BMS pushed (any ``SyncStore`` is one)."""

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The sync records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID."""
        ...


@attrs.frozen(kw_only=True)
class DispatchReport:
    """What :func:`dispatch` did with one delivery.

    Attributes:
        enqueued: The pull jobs for linked invoices (an already waiting job is reused).
        contacts: CONTACT events, for the host (e.g. refresh its customer from Xero).
        unlinked: INVOICE events for invoices this BMS never pushed (bills, invoices made
            in Xero): nothing to pull.
        other: Events of other categories (credit notes, subscriptions, new ones), and
            events of tenants this receiver does not serve.
        duplicates: Events seen twice in the delivery and counted once.
    """

    enqueued: tuple[Job, ...] = ()
    contacts: tuple[WebhookEvent, ...] = ()
    unlinked: tuple[WebhookEvent, ...] = ()
    other: tuple[WebhookEvent, ...] = ()
    duplicates: int = 0


def dispatch(
    payload: WebhookPayload,
    *,
    jobs: JobStore,
    links: XeroLinks,
    now: datetime,
    tenant_ids: Collection[str] | None = None,
) -> DispatchReport:
    """Turn a delivery's events into work.

    INVOICE events of invoices linked in ``links`` enqueue a targeted pull of that invoice
    (``jobs.enqueue_pull(tenant, invoice_id=...)``, one waiting job per invoice however many
    events or deliveries name it). Events repeated in one delivery (same tenant, resource and
    date) count once.

    Args:
        payload: A parsed delivery.
        jobs: Where pull jobs go.
        links: The sync records (the engine's ``SyncStore``).
        now: When the jobs are enqueued.
        tenant_ids: Only these tenants' events become jobs (default: every tenant).
    """
    seen: set[tuple[str, str, datetime]] = set()
    duplicates = 0
    invoices: dict[str, list[WebhookEvent]] = {}
    contacts: list[WebhookEvent] = []
    other: list[WebhookEvent] = []
    for event in payload.events:
        if event.key in seen:
            duplicates += 1
            continue
        seen.add(event.key)
        if tenant_ids is not None and event.tenant_id not in tenant_ids:
            other.append(event)
        elif event.event_category == _INVOICE:
            invoices.setdefault(event.tenant_id, []).append(event)
        elif event.event_category == _CONTACT:
            contacts.append(event)
        else:
            other.append(event)
    enqueued: dict[str, Job] = {}
    unlinked: list[WebhookEvent] = []
    for tenant, events in invoices.items():
        linked = links.by_xero_ids(tenant, {e.resource_id for e in events})
        for event in events:
            record = linked.get(event.resource_id)
            if record is None:
                unlinked.append(event)
                continue
            job = jobs.enqueue_pull(
                tenant,
                invoice_id=record.invoice_id,
                invoice_number=record.invoice_number,
                now=now,
            )
            enqueued.setdefault(job.id, job)
    report = DispatchReport(
        enqueued=tuple(enqueued.values()),
        contacts=tuple(contacts),
        unlinked=tuple(unlinked),
        other=tuple(other),
        duplicates=duplicates,
    )
    log.info(
        "webhook: %d event(s), %d pull job(s) queued, %d contact event(s), %d unlinked, "
        "%d other, %d duplicate(s)",
        len(payload.events),
        len(report.enqueued),
        len(report.contacts),
        len(report.unlinked),
        len(report.other),
        duplicates,
    )
    return report


class _Secret:
    """Holds the webhook key so that no repr, debugger view or log line can show it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<redacted>"


class WebhookReceiver:
    """One call per request: verify, read, queue pulls, hand contact events to the host.

    ``receiver(body, signature)`` returns the :class:`WebhookResponse` to send (status, empty
    body). Bind it to a route that passes the raw body bytes and the ``x-xero-signature``
    header; see ``docs/webhooks.md``.

    Args:
        key: The webhook key from Xero's developer portal (kept out of every repr and log).
        jobs: Where pull jobs go (the store the worker reads).
        links: The sync records (the engine's ``SyncStore``).
        clock: The time (default: the system clock).
        tenant_ids: Only these tenants' events become jobs (default: every tenant).
        on_contact: Called with each CONTACT event (after the jobs are queued); an exception
            it raises is logged, and the delivery still succeeds.
    """

    def __init__(
        self,
        *,
        key: str,
        jobs: JobStore,
        links: XeroLinks,
        clock: Clock | None = None,
        tenant_ids: Collection[str] | None = None,
        on_contact: Callable[[WebhookEvent], None] | None = None,
    ) -> None:
        _key_bytes(key)
        self._key = _Secret(key)
        self._jobs = jobs
        self._links = links
        self._clock: Clock = clock or SystemClock()
        self._tenant_ids = None if tenant_ids is None else frozenset(tenant_ids)
        self._on_contact = on_contact

    def __repr__(self) -> str:
        return "WebhookReceiver(key=<redacted>)"

    def __call__(self, body: bytes, signature: str | bytes | None) -> WebhookResponse:
        """Answer one delivery (see :class:`WebhookResponse` for the statuses)."""
        checked = handle(body, signature, self._key.value)
        if checked.payload is None:
            return checked
        try:
            report = dispatch(
                checked.payload,
                jobs=self._jobs,
                links=self._links,
                now=self._clock.now(),
                tenant_ids=self._tenant_ids,
            )
        except Exception as e:  # Xero redelivers anything that did not get a 200
            log.exception("webhook: could not queue its pulls; answering 503 so Xero retries")
            return WebhookResponse(status=503, payload=checked.payload, error=e)
        if self._on_contact is not None:
            for event in report.contacts:
                try:
                    self._on_contact(event)
                except Exception:  # the jobs are queued: don't make Xero resend them
                    log.exception("webhook: on_contact failed for contact %s", event.resource_id)
        return attrs.evolve(checked, dispatched=report)
