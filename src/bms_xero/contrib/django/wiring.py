"""The app's composition root: ``BMS_XERO`` in; engine, stores and worker out.

Everything is built on first use and kept for the life of the process: one
:class:`~bms_xero.SyncEngine` per tenant (sharing one Xero client, so its rate limiter and
token refreshes are shared too), one store of each kind. Building never touches the network
and never needs the credentials: the client id and secret are read from the environment the
first time a request needs a token, so ``migrate``, the admin and the panel work in a process
that has none, and a missing variable surfaces as a typed error on the Sync button instead
of a crash at start-up.

Hosts rarely call these directly: the views, the admin, the management commands and
:func:`bms_xero.contrib.django.release.queue_push` do. A host with a worker of its own (a
Celery task, a thread) calls :func:`make_worker`. :func:`reset` drops what was built (the
app calls it when ``override_settings`` changes ``BMS_XERO``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.contrib.django.conf import KEYS, XeroSettings, get_settings, on_change
from bms_xero.engine import PaymentSink, SyncEngine
from bms_xero.errors import ConfigurationError
from bms_xero.jobs import CustomerSource, InvoiceSource, JobStore, PullSchedule, Worker
from bms_xero.transport import HttpxTransport, Transport
from bms_xero.xero import Authenticator, ClientCredentials, RefreshTokenAuth, XeroClient

if TYPE_CHECKING:
    from bms_xero.contrib.django.stores import DjangoJobStore, DjangoSyncStore, DjangoTokenStore

__all__ = [
    "Credentials",
    "credentials",
    "get_clock",
    "get_customer_source",
    "get_engine",
    "get_invoice_source",
    "get_jobs",
    "get_payment_sink",
    "get_settings",
    "get_store",
    "get_tokens",
    "make_schedule",
    "make_worker",
    "new_transport",
    "reset",
]

T = TypeVar("T")

_lock = threading.RLock()
_built: dict[str, Any] = {}
_engines: dict[str, SyncEngine] = {}


@attrs.frozen
class Credentials:
    """The Xero app's client id and secret, read from the environment (never from settings).

    Attributes:
        client_id: The app's client id.
        client_secret: Its secret (never in a repr); ``None`` for a PKCE app.
    """

    client_id: str
    client_secret: str | None = attrs.field(repr=False)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None  # an empty variable counts as unset


def credentials(*, secret_required: bool | None = None) -> Credentials:
    """The credentials, from the environment variables ``BMS_XERO`` names.

    Args:
        secret_required: Whether a missing secret is an error; by default it is for a
            custom connection (client credentials) and not for an app connection (a PKCE
            app has none).

    Raises:
        ConfigurationError: A variable is not set (the message names it, never a value).
    """
    s = get_settings()
    client_id = _env(s.client_id_env)
    if client_id is None:
        raise ConfigurationError(
            f"the environment variable {s.client_id_env} (named by BMS_XERO['CLIENT_ID_ENV']) "
            "is not set: export the Xero app's client id in the environment of the web server "
            "and of the worker"
        )
    secret = _env(s.client_secret_env)
    needed = not s.app_connection if secret_required is None else secret_required
    if secret is None and needed:
        raise ConfigurationError(
            f"the environment variable {s.client_secret_env} (named by "
            "BMS_XERO['CLIENT_SECRET_ENV']) is not set: export the Xero app's client secret "
            "in the environment of the web server and of the worker"
        )
    return Credentials(client_id, secret)


class _FromEnvironment:
    """An :class:`~bms_xero.xero.Authenticator` that reads the credentials when the first
    token is needed, so building an engine needs none (and a panel renders without them)."""

    def __init__(self, build: Callable[[], Authenticator]) -> None:
        self._build = build
        self._auth: Authenticator | None = None
        self._lock = threading.Lock()

    def _real(self) -> Authenticator:
        with self._lock:
            if self._auth is None:
                self._auth = self._build()  # raises ConfigurationError; tried again next time
            return self._auth

    def access_token(self, transport: Transport, clock: Clock) -> str:
        return self._real().access_token(transport, clock)

    def invalidate(self, access_token: str) -> None:
        if self._auth is not None:
            self._auth.invalidate(access_token)

    def __repr__(self) -> str:
        return "<credentials from the environment>"


def _once(name: str, build: Callable[[], T]) -> T:
    with _lock:
        if name not in _built:
            _built[name] = build()
        found: T = _built[name]
        return found


def _load(field: str, value: str) -> Any:
    """The object a dotted-path setting names, called when it is a class or factory."""
    from django.utils.module_loading import import_string

    key = f"BMS_XERO[{_key_of(field)!r}]"
    try:
        target = import_string(value)
    except ImportError as e:
        raise ConfigurationError(
            f"{key} = {value!r} can't be imported ({e}); check the dotted path "
            "(module.ClassName) and that its module is on the Python path"
        ) from e
    if not callable(target):
        return target
    try:
        return target()
    except TypeError as e:
        raise ConfigurationError(
            f"{key} = {value!r} could not be called without arguments ({e}); point it at a "
            "class or function that takes none"
        ) from e


def _key_of(field: str) -> str:
    return next(key for key, name in KEYS.items() if name == field)


def get_clock() -> Clock:
    """The clock of the engine, the jobs and the worker (``BMS_XERO['CLOCK']``, else the
    system clock)."""

    def build() -> Clock:
        s = get_settings()
        if s.clock is None:
            return SystemClock()
        clock = _load("clock", s.clock)
        if not isinstance(clock, Clock):
            raise ConfigurationError(
                f"BMS_XERO['CLOCK'] = {s.clock!r} gave a {type(clock).__name__}, not a "
                "bms_xero.clock.Clock"
            )
        return clock

    return _once("clock", build)


def get_store() -> DjangoSyncStore:
    """The sync store (records, cursors, customer links, credit notes) on
    ``BMS_XERO['DATABASE']``."""
    from bms_xero.contrib.django.stores import DjangoSyncStore

    return _once("store", lambda: DjangoSyncStore(using=get_settings().database))


def get_jobs() -> DjangoJobStore:
    """The background job store on ``BMS_XERO['DATABASE']``."""
    from bms_xero.contrib.django.stores import DjangoJobStore

    return _once("jobs", lambda: DjangoJobStore(using=get_settings().database))


def get_tokens() -> DjangoTokenStore:
    """The token store of app connections on ``BMS_XERO['DATABASE']``."""
    from bms_xero.contrib.django.stores import DjangoTokenStore

    return _once("tokens", lambda: DjangoTokenStore(using=get_settings().database))


def _required(field: str, what: str) -> str:
    value = getattr(get_settings(), field)
    if value is None:
        raise ConfigurationError(
            f"BMS_XERO[{_key_of(field)!r}] is not set: {what} (see docs/django.md)"
        )
    return str(value)


def get_invoice_source() -> InvoiceSource:
    """The host's :class:`~bms_xero.jobs.InvoiceSource` (``BMS_XERO['INVOICE_SOURCE']``).

    Raises:
        ConfigurationError: Not set, not importable, or not an ``InvoiceSource``.
    """

    def build() -> InvoiceSource:
        path = _required(
            "invoice_source",
            "point it at the class (or factory) whose get(tenant_id, invoice_id) returns a "
            "bms_xero Invoice, so the worker can load each invoice it pushes",
        )
        source = _load("invoice_source", path)
        if not isinstance(source, InvoiceSource):
            raise ConfigurationError(
                f"BMS_XERO['INVOICE_SOURCE'] = {path!r} gave a {type(source).__name__}, which "
                "has no get(tenant_id, invoice_id) method (bms_xero.jobs.InvoiceSource)"
            )
        return source

    return _once("invoice_source", build)


def get_payment_sink() -> PaymentSink | None:
    """The host's :class:`~bms_xero.engine.PaymentSink` (``BMS_XERO['PAYMENT_SINK']``), or
    ``None`` when not set (pulls then only update the sync records and the panel)."""

    def build() -> PaymentSink | None:
        path = get_settings().payment_sink
        if path is None:
            return None
        sink = _load("payment_sink", path)
        if not isinstance(sink, PaymentSink):
            raise ConfigurationError(
                f"BMS_XERO['PAYMENT_SINK'] = {path!r} gave a {type(sink).__name__}, which has "
                "no apply(update) method (bms_xero.engine.PaymentSink)"
            )
        return sink

    return _once("payment_sink", build)


def get_customer_source() -> CustomerSource | None:
    """The host's :class:`~bms_xero.jobs.CustomerSource` (``BMS_XERO['CUSTOMER_SOURCE']``),
    or ``None``: without one the worker leaves customer-link jobs to a process that has one.

    Raises:
        ConfigurationError: Not importable, or not a ``CustomerSource``.
    """

    def build() -> CustomerSource | None:
        path = get_settings().customer_source
        if path is None:
            return None
        source = _load("customer_source", path)
        if not isinstance(source, CustomerSource):
            raise ConfigurationError(
                f"BMS_XERO['CUSTOMER_SOURCE'] = {path!r} gave a {type(source).__name__}, "
                "which has no get_customer(tenant_id, customer_id) method "
                "(bms_xero.jobs.CustomerSource)"
            )
        return source

    return _once("customer_source", build)


def new_transport() -> HttpxTransport:
    """A new transport over the host's httpx client (``BMS_XERO['HTTP_CLIENT']``) or a
    default one with explicit timeouts; the caller closes it."""
    s = get_settings()
    if s.http_client is None:
        return HttpxTransport.default()
    client = _load("http_client", s.http_client)
    return HttpxTransport(client, owns_client=True)


def _authenticator(s: XeroSettings) -> Authenticator:
    def build() -> Authenticator:
        found = credentials()
        if s.connection_id is None:
            assert found.client_secret is not None  # credentials() required it
            return ClientCredentials(found.client_id, found.client_secret, token_url=s.token_url)
        return RefreshTokenAuth(
            found.client_id,
            found.client_secret,
            get_tokens(),
            connection_id=s.connection_id,
            token_url=s.token_url,
        )

    return _FromEnvironment(build)


def _client() -> XeroClient:
    def build() -> XeroClient:
        s = get_settings()
        return XeroClient(
            new_transport(),
            auth=_authenticator(s),
            tenant_id=s.tenant_id,
            clock=get_clock(),
            base_url=s.api_url,
            connections_url=s.connections_url,
        )

    return _once("client", build)


def get_engine(tenant_id: str | None = None) -> SyncEngine:
    """The process's :class:`~bms_xero.SyncEngine` for ``tenant_id`` (default:
    ``BMS_XERO['TENANT_ID']``), built on first use without any network."""
    s = get_settings()
    tenant = tenant_id or s.tenant_id
    with _lock:
        engine = _engines.get(tenant)
        if engine is None:
            client = _client()
            engine = SyncEngine(
                client=client if tenant == client.tenant_id else client.with_tenant(tenant),
                store=get_store(),
                tax_map=s.tax_map,
                payment_sink=get_payment_sink(),
                clock=get_clock(),
                mark_sent=s.mark_sent,
                email_invoices=s.email_invoices,
                auto_link_customers=s.auto_link_customers,
                max_in_flight=s.max_in_flight,
            )
            _engines[tenant] = engine
        return engine


def make_schedule(jobs: JobStore | None = None, *, queue: str | None = None) -> PullSchedule | None:
    """Periodic pulls every ``BMS_XERO['PULL_EVERY_MINUTES']`` on ``queue`` (default
    ``BMS_XERO['QUEUE']``); ``None`` when ``PULL_EVERY_MINUTES`` is None."""
    s = get_settings()
    if s.pull_every_minutes is None:
        return None
    return PullSchedule(
        jobs or get_jobs(),
        [s.tenant_id],
        every_minutes=s.pull_every_minutes,
        clock=get_clock(),
        queue=queue or s.queue,
    )


def make_worker(*, queues: Collection[str] | None = None, worker_id: str | None = None) -> Worker:
    """A new :class:`~bms_xero.jobs.Worker` for the configured tenant, over the Django job
    store, the host's invoice source and (when set) its customer source, taking jobs of
    ``queues`` only (default: ``BMS_XERO['QUEUE']``).

    Raises:
        ConfigurationError: ``INVOICE_SOURCE`` is not set or not usable.
    """
    return Worker(
        get_engine(),
        get_jobs(),
        get_invoice_source(),
        clock=get_clock(),
        worker_id=worker_id,
        customers=get_customer_source(),
        queues=tuple(queues) if queues else (get_settings().queue,),
    )


def reset() -> None:
    """Drop everything built (closing the Xero client), so the next use rebuilds it from the
    settings as they are then."""
    with _lock:
        client = _built.get("client")
        _built.clear()
        _engines.clear()
    if client is not None:
        client.close()


on_change(reset)
