"""Xero webhooks: check the signature, read the events, queue the pulls they call for.

Xero posts a thin payload (which resources changed, never what changed) signed with the
webhook key: ``x-xero-signature`` is the base64 HMAC-SHA256 of the raw body. A webhook never
carries money: it says "pull sooner", and the pull (GET /Invoices and GET /Payments changed
since the cursor) is where payments, credit notes and prepayments come from. Per category:

- ``INVOICE``: a targeted pull of each invoice this BMS pushed (bills and invoices made in
  Xero are reported as unlinked);
- ``PAYMENT``, ``CREDITNOTE``, ``PREPAYMENT``, ``OVERPAYMENT``, ``BATCHPAYMENT``, and any
  category Xero adds later: one ordinary pull of the organisation. These events name a
  payment or a credit, not the invoice it settles; the pull's two calls find the invoices
  affected, however many events came (cheaper than one GET per resource);
- ``CONTACT``: handed back to the host;
- ``SUBSCRIPTION`` (about the app, not an organisation): nothing.

Only two answers exist, both with an empty body: **401** for a missing or wrong signature
(before the body is read) and **200** for every correctly signed delivery, even one we can't
read. Xero retries a delivery that did not get a 200 for 24 hours and then disables the
webhook, so a 400 or 503 on a signed body would turn webhooks off for good: an unreadable
body (bad JSON, an unknown shape, a date out of range) is answered 200 with the typed
:class:`~bms_xero.errors.InvalidWebhook` kept for the host's logs, and the receiver falls back
to an ordinary pull. Xero's "Intent to Receive" handshake (probes without events) checks
exactly 200 and 401 before it turns the webhook on.

Framework-neutral, in layers, each usable alone:

- :func:`verify_signature` (constant time) and :func:`sign`;
- :func:`parse_payload`: body bytes to a :class:`WebhookPayload` of :class:`WebhookEvent`, or
  :class:`~bms_xero.errors.InvalidWebhook` (never another exception);
- :func:`handle`: both, as the status to answer (401, or 200 with the payload or the error);
- :func:`dispatch`: a payload's events to pull jobs, as above (deduplicated: the job store
  keeps one waiting job per invoice and one per tenant);
- :class:`WebhookReceiver`: all of it behind one call, for a route handler, with the fallback
  pull for unreadable deliveries. See ``examples/webhook_flask.py`` and
  ``examples/webhook_starlette.py``.

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
from bms_xero.jobs._protocols import JobStore
from bms_xero.jobs._records import Job
from bms_xero.mapping._dates import parse_datetime
from bms_xero.storage._records import SyncRecord

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

# Categories with their own handling; every other one (PAYMENT, CREDITNOTE, PREPAYMENT,
# OVERPAYMENT, BATCHPAYMENT, whatever Xero adds next) means "pull this organisation soon".
_INVOICE: Final = "INVOICE"
_CONTACT: Final = "CONTACT"
_SUBSCRIPTION: Final = "SUBSCRIPTION"
#: The tenant type of subscription events: the tenant is the app, with nothing to pull.
_APPLICATION: Final = "APPLICATION"
#: The spec's bound on firstEventSequence and lastEventSequence (a 32-bit signed int).
_MAX_SEQUENCE: Final = 2**31 - 1
#: How much of a bad value an error reason quotes (a reason ends up in log lines).
_SHOWN: Final = 60
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
        event_category: ``INVOICE``, ``CONTACT``, ``SUBSCRIPTION``, a money category
            (``PAYMENT``, ``CREDITNOTE``, ``PREPAYMENT``, ``OVERPAYMENT``, ``BATCHPAYMENT``),
            or one Xero added later (upper-cased, kept as is).
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
        first_event_sequence: Xero's sequence number of the first event (0 on the
            handshake; at most 2**31 - 1).
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


def _shown(value: object) -> str:
    """``repr(value)``, cut short: a reason quotes the bad value, but goes into log lines."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidWebhook(reason=f"{where}.{name}: missing or not a non-empty string")
    return value.strip()


def _sequence(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SEQUENCE:
        raise InvalidWebhook(
            reason=f"{name}: must be a whole number from 0 to {_MAX_SEQUENCE}, not {_shown(value)}"
        )
    return value


def _event(item: object, where: str) -> WebhookEvent:
    if not isinstance(item, dict):
        raise InvalidWebhook(reason=f"{where}: must be an object")
    values: dict[str, Any] = {
        ours: _text(item, theirs, where) for theirs, ours in _EVENT_FIELDS.items()
    }
    given = values["event_date_utc"]
    try:
        values["event_date_utc"] = parse_datetime(given)
    except (ValueError, OverflowError) as e:
        # OverflowError: /Date(99999999999999999999)/ lies after the year 9999 (or an offset
        # pushes 0001-01-01 before the year 1), which no datetime can hold.
        problem = (
            "is out of range (years 1 to 9999)"
            if isinstance(e, OverflowError)
            else "is not a date and time"
        )
        raise InvalidWebhook(reason=f"{where}.eventDateUtc: {_shown(given)} {problem}") from None
    for name in ("event_type", "event_category", "tenant_type"):
        values[name] = values[name].upper()  # Xero has sent both "Update" and "UPDATE"
    return WebhookEvent(**values)


def _load_json(raw: bytes) -> object:
    """The body as JSON, or InvalidWebhook (also for the receiver's lenient second look)."""
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
    return data


def parse_payload(body: bytes) -> WebhookPayload:
    """Read a webhook body (the raw bytes Xero signed).

    Tolerant where Xero varies (case of enum values, extra fields such as a credit note's
    ``data``, categories it adds later, sequence numbers of 0 on the handshake), strict about
    what a pull needs (every event's ids, category and date, in range).

    Raises:
        InvalidWebhook: The body is not JSON, or not the payload's shape, or holds a value out
            of range; ``reason`` says where. No other exception escapes for any bytes.
        TypeError: ``body`` is not bytes.
    """
    data = _load_json(_body_bytes(body))
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

    Only two statuses exist. Xero disables a webhook after 24 hours of deliveries that did not
    get a 200, so every correctly signed delivery gets one, whatever happens next; what went
    wrong is kept in ``error`` for the host's logs, and the scheduled pull finds the change.

    Attributes:
        status: 200 (correctly signed) or 401 (signature missing or wrong).
        payload: The delivery, when it was signed and readable.
        error: What went wrong with a signed delivery, if anything: the
            :class:`~bms_xero.errors.InvalidWebhook` of a body that can't be read, or the
            exception of a job store that could not queue the pulls. ``None`` for a 401.
        dispatched: What :class:`WebhookReceiver` queued, when it ran (for an unreadable
            body, the fallback pulls).
    """

    status: int
    payload: WebhookPayload | None = None
    error: Exception | None = None
    dispatched: DispatchReport | None = None

    @property
    def ok(self) -> bool:
        """Whether the answer is 200 (``error`` may still say something went wrong)."""
        return self.status == 200

    @property
    def body(self) -> bytes:
        """Always empty: Xero wants no response body."""
        return b""


def handle(body: bytes, signature: str | bytes | None, key: str) -> WebhookResponse:
    """Check and read one delivery: 401 unless the signature is right (before any parsing),
    else 200, with the payload or, for a body that can't be read, the
    :class:`~bms_xero.errors.InvalidWebhook` in ``error``.

    A signed body still gets 200 when unreadable: it came from Xero, and a non-200 answer for
    24 hours disables the webhook. This alone answers Xero's Intent to Receive handshake.

    Raises:
        ConfigurationError: ``key`` is empty (a deployment mistake, not a bad request).
        TypeError: ``body`` is not bytes.
    """
    if not verify_signature(body, signature, key):
        log.warning("webhook refused: the x-xero-signature does not match the body (401)")
        return WebhookResponse(status=401)
    try:
        payload = parse_payload(body)
    except InvalidWebhook as e:
        log.warning("webhook signed but unreadable: %s (answered 200)", e.reason)
        return WebhookResponse(status=200, error=e)
    except Exception as e:  # a bug of ours must not become a 500 that gets the webhook disabled
        log.exception("webhook signed but unreadable: %s (answered 200)", type(e).__name__)
        error = InvalidWebhook(reason=f"{type(e).__name__} while reading the body")
        return WebhookResponse(status=200, error=error)
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
        enqueued: The targeted pull jobs for linked invoices (INVOICE events; an already
            waiting job is reused).
        pulls: The ordinary pull jobs, one per tenant, for money events (PAYMENT, CREDITNOTE,
            PREPAYMENT, OVERPAYMENT, BATCHPAYMENT) and categories Xero added later (an already
            waiting pull is reused). For an unreadable delivery, the receiver's fallback pulls.
        contacts: CONTACT events, for the host (e.g. refresh its customer from Xero).
        unlinked: INVOICE events for invoices this BMS never pushed (bills, invoices made
            in Xero): nothing to pull.
        other: Events not acted on: SUBSCRIPTION events, other events of application (not
            organisation) tenants, and events of tenants this receiver does not serve.
        duplicates: Events seen twice in the delivery and counted once.
    """

    enqueued: tuple[Job, ...] = ()
    pulls: tuple[Job, ...] = ()
    contacts: tuple[WebhookEvent, ...] = ()
    unlinked: tuple[WebhookEvent, ...] = ()
    other: tuple[WebhookEvent, ...] = ()
    duplicates: int = 0


def _wants_pull(event: WebhookEvent) -> bool:
    """Whether the event says "pull this organisation soon" (see the module docstring).

    Money events name a payment or a credit, not the invoice it settles, and a category the
    library does not know yet may concern invoices too; the ordinary pull reads what changed
    since its cursor, so it finds the invoices affected either way. An application tenant is
    the app itself: no organisation to pull.
    """
    if event.tenant_type == _APPLICATION:
        return False
    return event.event_category not in (_INVOICE, _CONTACT, _SUBSCRIPTION)


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
    events or deliveries name it). Money events (PAYMENT, CREDITNOTE, PREPAYMENT, OVERPAYMENT,
    BATCHPAYMENT) and categories Xero added later enqueue one ordinary pull of their tenant
    (``jobs.enqueue_pull(tenant, now=...)``, one waiting job per tenant): two calls (GET
    /Invoices and GET /Payments changed since the cursor) find the invoices they affect,
    however many events came. CONTACT events are handed back; SUBSCRIPTION events are
    reported as ``other``. Events repeated in one delivery (same tenant, resource and date)
    count once.

    Args:
        payload: A parsed delivery.
        jobs: Where pull jobs go.
        links: The sync records (the engine's ``SyncStore``).
        now: When the jobs are enqueued.
        tenant_ids: Only these tenants' events become jobs (default: every tenant).

    Raises:
        Exception: Whatever ``jobs`` or ``links`` raise (e.g. ``StorageError``); jobs queued
            before the failure stay queued.
    """
    seen: set[tuple[str, str, datetime]] = set()
    duplicates = 0
    invoices: dict[str, list[WebhookEvent]] = {}
    pull_tenants: dict[str, None] = {}  # in the order the delivery names them
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
        elif _wants_pull(event):
            pull_tenants.setdefault(event.tenant_id)
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
    pulls = _enqueue_pulls(jobs, pull_tenants, now)
    report = DispatchReport(
        enqueued=tuple(enqueued.values()),
        pulls=pulls,
        contacts=tuple(contacts),
        unlinked=tuple(unlinked),
        other=tuple(other),
        duplicates=duplicates,
    )
    log.info(
        "webhook: %d event(s), %d invoice pull job(s) and %d tenant pull(s) queued, "
        "%d contact event(s), %d unlinked, %d other, %d duplicate(s)",
        len(payload.events),
        len(report.enqueued),
        len(report.pulls),
        len(report.contacts),
        len(report.unlinked),
        len(report.other),
        duplicates,
    )
    return report


def _enqueue_pulls(jobs: JobStore, tenant_ids: Iterable[str], now: datetime) -> tuple[Job, ...]:
    """One ordinary pull per tenant (the store reuses a waiting one), each job once."""
    queued: dict[str, Job] = {}
    for tenant in tenant_ids:
        job = jobs.enqueue_pull(tenant, now=now)
        queued.setdefault(job.id, job)
    return tuple(queued.values())


def _tenants_named(body: bytes) -> tuple[str, ...]:
    """The organisations an unreadable body seems to be about, read leniently.

    Only from a JSON object whose ``events`` is a list: each object in it with a non-empty
    string ``tenantId`` (not an application's: no organisation to pull), in order, once each.
    Anything else names nobody. The body is signed, so it came from Xero; a wrong guess costs
    one pull.
    """
    try:
        data = _load_json(body)
    except InvalidWebhook:
        return ()
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        return ()
    found: dict[str, None] = {}
    for item in events:
        if not isinstance(item, dict):
            continue
        tenant, kind = item.get("tenantId"), item.get("tenantType")
        if isinstance(kind, str) and kind.strip().upper() == _APPLICATION:
            continue
        if isinstance(tenant, str) and tenant.strip():
            found.setdefault(tenant.strip())
    return tuple(found)


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
    body): 401 for a missing or wrong signature, 200 for everything signed. Bind it to a
    route that passes the raw body bytes and the ``x-xero-signature`` header; see
    ``docs/webhooks.md``.

    A signed body that can't be read still says "something changed": the receiver queues an
    ordinary pull of each tenant in ``tenant_ids`` (or, without them, of each ``tenantId`` it
    finds in the body's events) and keeps the ``InvalidWebhook`` in ``error``. If the job
    store fails, the failure is logged and kept in ``error``, and Xero still gets 200: the
    scheduled pull finds the change, while a 503 for 24 hours would disable the webhook.

    Args:
        key: The webhook key from Xero's developer portal (kept out of every repr and log).
        jobs: Where pull jobs go (the store the worker reads).
        links: The sync records (the engine's ``SyncStore``).
        clock: The time (default: the system clock).
        tenant_ids: The organisations this BMS serves: only their events become jobs, and an
            unreadable delivery pulls each of them (default: every tenant; an unreadable
            delivery pulls the tenants it names).
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
        if not checked.ok:
            return checked
        if checked.payload is None:
            return self._fall_back(body, checked)
        try:
            report = dispatch(
                checked.payload,
                jobs=self._jobs,
                links=self._links,
                now=self._clock.now(),
                tenant_ids=self._tenant_ids,
            )
        except Exception as e:  # a 503 for 24 h disables the webhook; the scheduled pull is on
            log.exception(
                "webhook: could not queue its pulls (answered 200 all the same: the scheduled "
                "pull will find the change)"
            )
            return attrs.evolve(checked, error=e)
        if self._on_contact is not None:
            for event in report.contacts:
                try:
                    self._on_contact(event)
                except Exception:  # the jobs are queued: don't make Xero resend them
                    log.exception("webhook: on_contact failed for contact %s", event.resource_id)
        return attrs.evolve(checked, dispatched=report)

    def _fall_back(self, body: bytes, checked: WebhookResponse) -> WebhookResponse:
        """An unreadable signed delivery: queue ordinary pulls of the tenants we can name."""
        tenants = sorted(self._tenant_ids) if self._tenant_ids is not None else _tenants_named(body)
        if not tenants:
            log.warning(
                "webhook: the unreadable delivery names no organisation, so no pull was "
                "queued; pass tenant_ids= (the organisations this BMS serves) to "
                "WebhookReceiver to pull them whenever this happens. The scheduled pull will "
                "find the change meanwhile."
            )
            return checked
        try:
            pulls = _enqueue_pulls(self._jobs, tenants, self._clock.now())
        except Exception:  # as for dispatch: 200 all the same, the InvalidWebhook is kept
            log.exception(
                "webhook: could not queue the fallback pulls for an unreadable delivery "
                "(answered 200 all the same: the scheduled pull will find the change)"
            )
            return checked
        log.info("webhook: unreadable delivery, %d tenant pull(s) queued instead", len(pulls))
        return attrs.evolve(checked, dispatched=DispatchReport(pulls=pulls))
