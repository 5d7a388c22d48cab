"""The one ``BMS_XERO`` setting, checked once into a frozen :class:`XeroSettings`.

A host configures the whole app in ``settings.py``::

    BMS_XERO = {
        "TENANT_ID": "6f9a...",                       # the Xero organisation
        "TAX_MAP": {"GST15": "OUTPUT2"},              # BMS tax code -> Xero TaxType
        "INVOICE_SOURCE": "billing.xero.Invoices",    # the host's InvoiceSource
        "PAYMENT_SINK": "billing.xero.Payments",      # the host's PaymentSink
    }

Secrets are never written here: the client id and secret are read from the environment
variables named by ``CLIENT_ID_ENV`` and ``CLIENT_SECRET_ENV`` (``XERO_CLIENT_ID`` and
``XERO_CLIENT_SECRET`` unless told otherwise), when the first request to Xero needs them, so
``migrate``, the admin and the panel work in a process that has no credentials. A key that
would hold a secret (``CLIENT_SECRET``, ``ACCESS_TOKEN``...) is refused, and no error ever
quotes a value that could be one.

Every problem is reported at once, each naming its key (``BMS_XERO['TAX_MAP']['GST15']``)
and how to fix it, as a :class:`SettingsError`. :func:`get_settings` reads the setting once
per process (again after ``override_settings`` changes it, so tests can vary it).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from bms_xero.errors import ConfigurationError, FieldProblem
from bms_xero.xero import (
    API_BASE,
    AUTHORIZE_URL,
    CONNECTIONS_URL,
    DEFAULT_SCOPES,
    REVOCATION_URL,
    TOKEN_URL,
)

__all__ = [
    "DEFAULT_CLIENT_ID_ENV",
    "DEFAULT_CLIENT_SECRET_ENV",
    "KEYS",
    "SettingsError",
    "XeroSettings",
    "check_settings",
    "forget_settings",
    "get_settings",
    "on_change",
    "parse_settings",
    "problems_of",
]

SETTING: Final = "BMS_XERO"
DEFAULT_CLIENT_ID_ENV: Final = "XERO_CLIENT_ID"
DEFAULT_CLIENT_SECRET_ENV: Final = "XERO_CLIENT_SECRET"  # noqa: S105 - a variable's name

#: What ``VIEW_PERMISSION`` may say besides a permission (``"app_label.codename"``).
_ACCESS_WORDS: Final = frozenset({"staff", "superuser", "authenticated"})

#: Each key of ``BMS_XERO`` and the :class:`XeroSettings` attribute it sets.
KEYS: Final = {
    "TENANT_ID": "tenant_id",
    "TAX_MAP": "tax_map",
    "CLIENT_ID_ENV": "client_id_env",
    "CLIENT_SECRET_ENV": "client_secret_env",
    "CONNECTION_ID": "connection_id",
    "SCOPES": "scopes",
    "API_URL": "api_url",
    "TOKEN_URL": "token_url",
    "CONNECTIONS_URL": "connections_url",
    "AUTHORIZE_URL": "authorize_url",
    "REVOCATION_URL": "revocation_url",
    "REDIRECT_URI": "redirect_uri",
    "INVOICE_SOURCE": "invoice_source",
    "PAYMENT_SINK": "payment_sink",
    "CUSTOMER_SOURCE": "customer_source",
    "DATABASE": "database",
    "QUEUE": "queue",
    "SYNC_DEADLINE": "sync_deadline",
    "VIEW_PERMISSION": "view_permission",
    "MARK_SENT": "mark_sent",
    "EMAIL_INVOICES": "email_invoices",
    "AUTO_LINK_CUSTOMERS": "auto_link_customers",
    "MAX_IN_FLIGHT": "max_in_flight",
    "PULL_EVERY_MINUTES": "pull_every_minutes",
    "HTTP_CLIENT": "http_client",
    "CLOCK": "clock",
}
_FIELD_KEYS: Final = {field: key for key, field in KEYS.items()}

#: Keys that would put a secret in settings.py (which is committed and shared).
_SECRET_KEYS: Final = frozenset(
    {"CLIENT_SECRET", "SECRET", "ACCESS_TOKEN", "REFRESH_TOKEN", "WEBHOOK_KEY", "CLIENT_ID"}
)

_URL_DEFAULTS: Final = {
    "api_url": API_BASE,
    "token_url": TOKEN_URL,
    "connections_url": CONNECTIONS_URL,
    "authorize_url": AUTHORIZE_URL,
    "revocation_url": REVOCATION_URL,
}
_DOTTED: Final = ("invoice_source", "payment_sink", "customer_source", "http_client", "clock")


def _path(field: str) -> str:
    return f"{SETTING}[{_FIELD_KEYS[field]!r}]"


def _kind(value: object) -> str:
    """A value's type in words (never the value: it could be a secret)."""
    names: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        ((list, tuple), "a list"),
        (Mapping, "a dict"),
        (type(None), "None"),
    ]
    for kind, name in names:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _text_problem(value: object, example: str) -> str | None:
    if not isinstance(value, str):
        return f"must be a string such as {example!r}, not {_kind(value)}"
    if not value.strip() or value != value.strip():
        return f"must be a non-empty string without surrounding spaces, such as {example!r}"
    return None


def _url_problem(field: str, value: object) -> str | None:
    example = _URL_DEFAULTS.get(field, "https://bms.example.com/xero/callback/")
    if not isinstance(value, str):
        return f"must be an http(s) URL such as {example}, not {_kind(value)}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a bad port raises here, not in the first request
    except ValueError:
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and parts.netloc:
        return None
    # Only the scheme and host are quoted: a URL may carry user:password@.
    shown = (
        "an unreadable URL" if parts is None else f"{parts.scheme or '?'}://{parts.hostname or '?'}"
    )
    return f"must be an http(s) URL such as {example}, not {shown}"


def _dotted_problem(value: object) -> str | None:
    example = "billing.xero.Invoices"
    if not isinstance(value, str):
        return f"must be a dotted path such as {example!r}, not {_kind(value)}"
    module, _, name = value.rpartition(".")
    if not module or not all(part.isidentifier() for part in value.split(".")):
        return f"must be a dotted path to a class or factory, such as {example!r}"
    del name
    return None


def _env_name_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return f"must name an environment variable (e.g. 'XERO_CLIENT_ID'), not {_kind(value)}"
    if not all(c.isalnum() or c == "_" for c in value) or value[0].isdigit():
        return "must be an environment variable's name (letters, digits, _), not a value"
    return None


def _tax_map_problems(value: object) -> list[FieldProblem]:
    path = _path("tax_map")
    if not isinstance(value, Mapping):
        return [
            FieldProblem(path, f'must be a dict such as {{"GST15": "OUTPUT2"}}, not {_kind(value)}')
        ]
    problems = []
    for code, tax_type in value.items():
        if not isinstance(code, str) or not code.strip():
            problems.append(FieldProblem(path, "has a key that is not a BMS tax code string"))
        elif not isinstance(tax_type, str) or not tax_type.strip():
            shown = "an empty string" if isinstance(tax_type, str) else _kind(tax_type)
            problems.append(
                FieldProblem(
                    f"{path}[{code!r}]",
                    f'must be a Xero TaxType string (e.g. "OUTPUT2"), not {shown}',
                )
            )
    return problems


def _scopes_problem(value: object) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return f'must be a non-empty list such as ["accounting.invoices"], not {_kind(value)}'
    for scope in value:
        if not isinstance(scope, str) or not scope or " " in scope:
            return "must hold single scope names such as 'accounting.invoices'"
    return None


def _seconds_problem(value: object, *, what: str, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of {what} > 0, not {_kind(value)}"
    if not math.isfinite(value) or value <= 0:
        return f"must be a number of {what} > 0, not {value}"
    return None


def _access_problem(value: object) -> str | None:
    if isinstance(value, str) and (value in _ACCESS_WORDS or value.count(".") == 1):
        return None
    return (
        "must be 'staff' (the default), 'superuser', 'authenticated' or a permission such as "
        "'bms_xero.change_job'"
    )


def problems_of(
    values: Mapping[str, Any], *, databases: Collection[str] | None
) -> list[FieldProblem]:
    """Everything wrong with the settings' values (by attribute name), each with its key.

    A pure function, shared by :func:`parse_settings` and :class:`XeroSettings` itself.
    ``databases`` is the host's ``DATABASES`` aliases (``None``: not checked).
    """
    problems: list[FieldProblem] = []

    def add(field: str, message: str | None) -> None:
        if message is not None:
            problems.append(FieldProblem(_path(field), message))

    tenant = values.get("tenant_id")
    if tenant is None:
        add(
            "tenant_id",
            "is required: set it to the Xero organisation's tenant id (`bms-xero fake-server` "
            "and `bms-xero connections` print it; for an app connection, the connect view's "
            "page lists the organisations it reached)",
        )
    else:
        add("tenant_id", _text_problem(tenant, "6f9a1c2e-..."))
    problems.extend(_tax_map_problems(values.get("tax_map", {})))
    for field in ("client_id_env", "client_secret_env"):
        add(field, _env_name_problem(values.get(field)))
    connection = values.get("connection_id")
    if connection is not None:
        add("connection_id", _text_problem(connection, "default"))
    add("scopes", _scopes_problem(values.get("scopes")))
    for field in _URL_DEFAULTS:
        add(field, _url_problem(field, values.get(field)))
    redirect = values.get("redirect_uri")
    if redirect is not None:
        add("redirect_uri", _url_problem("redirect_uri", redirect))
    for field in _DOTTED:
        if values.get(field) is not None:
            add(field, _dotted_problem(values[field]))
    database = values.get("database")
    message = _text_problem(database, "default")
    if message is None and databases is not None and database not in databases:
        known = ", ".join(sorted(databases)) or "none"
        message = f"names no database in DATABASES (it has: {known}); use one of those aliases"
    add("database", message)
    add("queue", _text_problem(values.get("queue"), "default"))
    add("sync_deadline", _seconds_problem(values.get("sync_deadline"), what="seconds"))
    add(
        "pull_every_minutes",
        _seconds_problem(values.get("pull_every_minutes"), what="minutes", allow_none=True),
    )
    add("view_permission", _access_problem(values.get("view_permission")))
    for field in ("mark_sent", "email_invoices", "auto_link_customers"):
        if not isinstance(values.get(field), bool):
            add(field, f"must be True or False, not {_kind(values.get(field))}")
    in_flight = values.get("max_in_flight")
    if isinstance(in_flight, bool) or not isinstance(in_flight, int) or not 1 <= in_flight <= 5:
        add("max_in_flight", "must be a whole number from 1 to 5 (Xero allows 5 in flight)")
    return problems


class SettingsError(ConfigurationError):
    """The ``BMS_XERO`` setting has problems; every one is listed at once, each with its key.

    Attributes:
        problems: Each problem: ``path`` is the key (``"BMS_XERO['TAX_MAP']['GST15']"``),
            ``message`` what is wrong and how to fix it.
        key: The first problem's key (the one to look at first).
    """

    def __init__(self, problems: Collection[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        self.key: str = self.problems[0].path if self.problems else SETTING
        count = len(self.problems)
        head = "" if count == 1 else f"{count} problems in the {SETTING} setting: "
        listed = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{head}{listed} (fix it in your Django settings module)")


def _validate(instance: XeroSettings) -> None:
    values = attrs.asdict(instance, recurse=False)
    problems = problems_of(values, databases=None)
    if problems:
        raise SettingsError(problems)


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


def _tuple(value: object) -> Any:
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(kw_only=True)
class XeroSettings:
    """The app's settings, checked. Built by :func:`parse_settings` from ``BMS_XERO``.

    Attributes:
        tenant_id: The Xero organisation to sync (``TENANT_ID``, required). Settings are
            fixed for the life of a process, so the organisation is too: the connect view
            checks the connection reaches it and lists the others.
        tax_map: BMS tax code → Xero TaxType (``TAX_MAP``).
        client_id_env: The environment variable holding the client id (``CLIENT_ID_ENV``).
        client_secret_env: The one holding the client secret (``CLIENT_SECRET_ENV``); it
            may be unset for a PKCE app connection, which has no secret.
        connection_id: ``None`` (default): a custom connection (client credentials). A name
            such as ``"default"``: an app a person connects with the connect view, whose
            tokens the Django token store keeps under that name.
        scopes: The scopes the connect view asks for (default: those bms_xero needs).
        api_url: The accounting API (``bms-xero fake-server`` prints its own).
        token_url: The OAuth token endpoint.
        connections_url: Xero's ``/connections``.
        authorize_url: Where the connect view sends the person to consent.
        revocation_url: Where disconnect revokes the refresh token.
        redirect_uri: The callback URL registered on the app; ``None``: the callback
            view's own absolute URL.
        invoice_source: Dotted path to the host's ``InvoiceSource`` class or factory.
        payment_sink: Dotted path to the host's ``PaymentSink`` class or factory.
        customer_source: Dotted path to the host's customer source (for customer-link jobs).
        database: The Django database alias the stores use.
        queue: The job queue ``queue_push`` fills and the worker takes from.
        sync_deadline: Seconds the Sync button may wait for Xero before it queues instead.
        view_permission: Who may use the views: ``"staff"``, ``"superuser"``,
            ``"authenticated"`` or a permission (``"app_label.codename"``).
        mark_sent: Send approved invoices marked sent (``SyncEngine(mark_sent=)``).
        email_invoices: Have Xero email each new invoice (``SyncEngine(email_invoices=)``).
        auto_link_customers: A push links a customer with no Xero contact itself (found by
            ContactNumber, then by name, else created; ``SyncEngine(auto_link_customers=)``)
            instead of failing with "Link the customer to Xero first".
        max_in_flight: Requests a push or pull may have in flight at once
            (``SyncEngine(max_in_flight=)``); above 1 the stores are called from that many
            threads, each with its own database connection.
        pull_every_minutes: How often the worker queues a pull; ``None``: never.
        http_client: Dotted path to a factory returning the ``httpx.Client`` to send with
            (proxies, timeouts; tests point it at ``FakeXero``); default: bms_xero's own.
        clock: Dotted path to a factory returning a ``bms_xero.clock.Clock`` (tests).
    """

    tenant_id: str
    tax_map: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    client_id_env: str = DEFAULT_CLIENT_ID_ENV
    client_secret_env: str = DEFAULT_CLIENT_SECRET_ENV
    connection_id: str | None = None
    scopes: tuple[str, ...] = attrs.field(default=DEFAULT_SCOPES, converter=_tuple)
    api_url: str = API_BASE
    token_url: str = TOKEN_URL
    connections_url: str = CONNECTIONS_URL
    authorize_url: str = AUTHORIZE_URL
    revocation_url: str = REVOCATION_URL
    redirect_uri: str | None = None
    invoice_source: str | None = None
    payment_sink: str | None = None
    customer_source: str | None = None
    database: str = "default"
    queue: str = "default"
    sync_deadline: float = 5.0
    view_permission: str = "staff"
    mark_sent: bool = False
    email_invoices: bool = False
    auto_link_customers: bool = False
    max_in_flight: int = 5
    pull_every_minutes: float | None = 30.0
    http_client: str | None = None
    clock: str | None = None

    def __attrs_post_init__(self) -> None:
        _validate(self)

    @property
    def app_connection(self) -> bool:
        """Whether a person connects the app (OAuth views, token store), rather than a
        custom connection's client credentials."""
        return self.connection_id is not None


def parse_settings(raw: object, *, databases: Collection[str] | None = None) -> XeroSettings:
    """The checked settings from the ``BMS_XERO`` value (a pure function).

    Args:
        raw: The value of ``settings.BMS_XERO`` (a dict).
        databases: The aliases of ``settings.DATABASES``, to check ``DATABASE`` against.

    Raises:
        SettingsError: Every problem at once: an unknown key (with the nearest known one),
            a key that would hold a secret, a value of the wrong type or shape.
    """
    if not isinstance(raw, Mapping):
        raise SettingsError(
            [FieldProblem(SETTING, f"must be a dict of settings, not {_kind(raw)}")]
        )
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(FieldProblem(SETTING, f"has a key that is not a string ({_kind(key)})"))
        elif key not in KEYS and (key.upper() in _SECRET_KEYS or "SECRET" in key.upper()):
            is_id = key.upper() == "CLIENT_ID"
            env_key = "CLIENT_ID_ENV" if is_id else "CLIENT_SECRET_ENV"
            env_name = DEFAULT_CLIENT_ID_ENV if is_id else DEFAULT_CLIENT_SECRET_ENV
            problems.append(
                FieldProblem(
                    f"{SETTING}[{key!r}]",
                    "credentials are never written in settings: put the value in the "
                    f"environment variable named by {env_key} (default {env_name}) and remove "
                    "this key",
                )
            )
        elif key not in KEYS:
            close = difflib.get_close_matches(key.upper(), sorted(KEYS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(KEYS))}"
            problems.append(FieldProblem(f"{SETTING}[{key!r}]", f"is not a known key ({hint})"))
        else:
            values[KEYS[key]] = value
    merged: dict[str, Any] = {**_defaults(), **values}
    merged["scopes"] = _tuple(merged.get("scopes"))
    problems.extend(problems_of(merged, databases=databases))
    if problems:
        raise SettingsError(problems)
    return XeroSettings(**merged)


def _defaults() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field in attrs.fields(XeroSettings):
        default: Any = field.default
        if default is attrs.NOTHING:  # required: missing until the setting gives it
            default = None
        factory = getattr(default, "factory", None)  # an attrs.Factory
        found[field.name] = factory() if callable(factory) else default
    return found


_cached: XeroSettings | None = None


def get_settings() -> XeroSettings:
    """The host's ``BMS_XERO`` setting, checked (once per process; again after it changes).

    Raises:
        SettingsError: The setting has problems (each named).
    """
    global _cached
    if _cached is None:
        from django.conf import settings

        raw = getattr(settings, SETTING, None)
        if raw is None:
            raise SettingsError(
                [
                    FieldProblem(
                        SETTING,
                        "is not set: add BMS_XERO = {'TENANT_ID': ..., 'TAX_MAP': {...}} to "
                        "your settings (see docs/django.md)",
                    )
                ]
            )
        _cached = parse_settings(raw, databases=list(settings.DATABASES))
    return _cached


def forget_settings(**_kwargs: object) -> None:
    """Drop the checked copy, so the next :func:`get_settings` reads the setting again."""
    global _cached
    _cached = None


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting in (SETTING, "DATABASES"):
        forget_settings()
        for listener in _LISTENERS:
            listener()


#: Called when the setting changes (the wiring drops its engines).
_LISTENERS: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever ``BMS_XERO`` changes (``override_settings`` in tests)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def check_settings(app_configs: Any = None, **_kwargs: Any) -> list[Any]:
    """The Django system check (``manage.py check``, and before ``runserver`` and
    ``migrate``): one ``bms_xero.W001`` warning per problem in ``BMS_XERO``, each naming its
    key, so a bad setting shows at start-up rather than on the first Sync.

    Warnings, not errors: ``migrate`` must still run where the setting is incomplete (a
    build step without ``XERO_TENANT_ID``); using the app then raises the
    :class:`SettingsError`."""
    from django.core import checks

    try:
        forget_settings()
        get_settings()
    except SettingsError as e:
        return [
            checks.Warning(str(p), hint="See docs/django.md (Settings).", id="bms_xero.W001")
            for p in e.problems
        ]
    return []


def _connect() -> None:
    from django.core import checks
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed, dispatch_uid="bms_xero.conf")
    checks.register(check_settings, "bms_xero")


_connect()
