"""The app's views: the Sync button, the panel as JSON, and connecting to Xero.

Each acts on accounting data, so each requires a signed-in user allowed by
``BMS_XERO['VIEW_PERMISSION']`` (staff by default); a person who is not signed in is sent to
the login page (the JSON view answers 401 instead). Changes are POSTs, protected by Django's
CSRF middleware.

- :func:`sync_invoice` (POST): the "Sync Invoice with Xero Invoice" button. It waits for
  Xero at most ``BMS_XERO['SYNC_DEADLINE']`` seconds: when Xero's rate limits would make it
  wait longer, the push is queued for the worker and the person is told so. It redirects
  back with a message: synced, queued, or what failed and how to fix it.
- :func:`panel_json` (GET): the panel as JSON, for hosts with their own UI. Reads the
  database only: it answers while Xero is down.
- :func:`connect`, :func:`callback`, :func:`disconnect`: an app connection (OAuth 2 with
  PKCE and ``state``; the pending authorisation waits in the person's session).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from bms_xero.contrib.django import wiring
from bms_xero.engine._results import SyncOutcome, SyncOutcomeKind
from bms_xero.errors import (
    AuthError,
    AuthorizationFailed,
    BmsXeroError,
    ConfigurationError,
    TransportError,
)
from bms_xero.views import ErrorView, PanelView, invoice_job, panel_view
from bms_xero.xero import (
    AuthorizationRequest,
    Connection,
    RefreshTokenAuth,
    XeroClient,
    finish_authorization,
    revoke_token,
    start_authorization,
)

__all__ = [
    "DisconnectOutcome",
    "allowed",
    "callback",
    "chosen_tenant",
    "connect",
    "disconnect",
    "disconnect_connection",
    "guarded",
    "invoice_id_of",
    "load_panel",
    "outcome_message",
    "panel_json",
    "sync_invoice",
]

log = logging.getLogger("bms_xero.django")

View = Callable[..., HttpResponse]

#: Where the pending authorisation waits between connect and callback.
_SESSION_KEY = "bms_xero_authorization"


# --- who may ---------------------------------------------------------------------------------


def allowed(user: Any, rule: str) -> bool:
    """Whether ``user`` passes ``BMS_XERO['VIEW_PERMISSION']`` (a pure decision).

    ``"staff"``, ``"superuser"``, ``"authenticated"``, or a permission such as
    ``"bms_xero.change_job"``; an inactive or anonymous user never does.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    if rule == "authenticated":
        return True
    if rule == "staff":
        return bool(user.is_staff)
    if rule == "superuser":
        return bool(user.is_superuser)
    return bool(user.has_perm(rule))


def guarded(*methods: str, json: bool = False) -> Callable[[View], View]:
    """Allow only ``methods``, only to a user that :func:`allowed` lets in (others go to the
    login page, or get a JSON 401/403 when ``json``), and never let the answer be cached
    (it shows, or changes, accounting data)."""

    def wrap(view: View) -> View:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = _checked(request, methods, json=json) or view(request, *args, **kwargs)
            add_never_cache_headers(response)
            return response

        return inner

    return wrap


def _checked(request: HttpRequest, methods: Collection[str], *, json: bool) -> HttpResponse | None:
    """The refusal for this request, or ``None`` when the view may run."""
    if request.method not in methods:
        return HttpResponseNotAllowed(list(methods))
    user = getattr(request, "user", None)
    if allowed(user, wiring.get_settings().view_permission):
        return None
    signed_in = user is not None and bool(user.is_authenticated)
    if json:
        status = 403 if signed_in else 401
        what = "may not use" if signed_in else "must sign in to use"
        return JsonResponse(
            {"error": f"you {what} the Xero integration", "status": status}, status=status
        )
    if signed_in:
        raise PermissionDenied("your account may not use the Xero integration")
    response: HttpResponse = redirect_to_login(request.get_full_path())
    return response


def _back(request: HttpRequest, fallback: str = "/") -> str:
    """Where to send the person back: ``next`` (POST, then GET), else the page they came
    from, else ``fallback``; only ever a URL of this site."""
    for candidate in (
        request.POST.get("next"),
        request.GET.get("next"),
        request.META.get("HTTP_REFERER"),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return str(candidate)
    return fallback


def _tell(request: HttpRequest, level: int, text: str) -> None:
    messages.add_message(request, level, text, fail_silently=True)


# --- the panel -------------------------------------------------------------------------------


def invoice_id_of(invoice: object) -> str:
    """The BMS invoice id the app keys an invoice by: a string as given, a bms_xero
    ``Invoice``'s ``id``, else a model instance's ``str(pk)`` (what the host passes to
    :func:`~bms_xero.contrib.django.release.queue_push`).

    Raises:
        ConfigurationError: Nothing usable as an id (``None``, an unsaved model).
    """
    from bms_xero.domain import Invoice

    if isinstance(invoice, str) and invoice.strip():
        return invoice
    if isinstance(invoice, int) and not isinstance(invoice, bool):
        return str(invoice)
    if isinstance(invoice, Invoice):
        return invoice.id
    pk = getattr(invoice, "pk", None)
    if pk is not None:
        return str(pk)
    raise ConfigurationError(
        f"the Xero panel needs an invoice: a saved model instance, its id as a string, or a "
        f"bms_xero Invoice, not {type(invoice).__name__}"
    )


def load_panel(invoice_id: str) -> PanelView:
    """The invoice's :class:`~bms_xero.views.PanelView`, from the database alone (the sync
    record and the invoice's waiting or failed job), never from Xero; times in the current
    Django time zone."""
    return panel_view(
        wiring.get_engine(),
        invoice_id,
        jobs=wiring.get_jobs(),
        now=wiring.get_clock().now(),
        tz=timezone.get_current_timezone(),
    )


def outcome_message(outcome: SyncOutcome, view: PanelView) -> tuple[int, str]:
    """What the Sync button tells the person (a ``messages`` level and the words). Pure."""
    name = f"Invoice {view.invoice_number}" if view.invoice_number else "The invoice"
    if outcome.kind is SyncOutcomeKind.SYNCED:
        status = f" ({view.status_label})" if view.status_label else ""
        return messages.SUCCESS, f"{name} is in sync with Xero{status}."
    if outcome.kind is SyncOutcomeKind.QUEUED:
        relative = "" if view.next_run is None else view.next_run.relative
        when = f" {relative}" if relative.startswith("in ") else " as soon as the worker takes it"
        why = f"{view.error.message}: " if view.error is not None else ""
        return messages.INFO, f"{why}{name} is queued and will sync with Xero{when}."
    if view.error is not None:
        return messages.ERROR, f"{name} was not synced: {view.error.message}. {view.error.fix}"
    return messages.ERROR, f"{name} was not synced with Xero."


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


@guarded("POST")
def sync_invoice(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The "Sync Invoice with Xero Invoice" button (POST, CSRF-protected).

    Loads the invoice through ``INVOICE_SOURCE``, syncs it with a deadline of
    ``SYNC_DEADLINE`` seconds (queueing it when Xero is busy), and redirects back (``next``,
    else the page it came from) with a message: synced, queued, or what failed and how to
    fix it. A client asking for JSON (``Accept: application/json``) gets the outcome and the
    fresh panel instead.
    """
    after = _back(request)
    settings = wiring.get_settings()
    try:
        invoice = wiring.get_invoice_source().get(settings.tenant_id, invoice_id)
        if invoice is None:
            raise ConfigurationError(
                f"invoice id {invoice_id} is not in the BMS (INVOICE_SOURCE found none), so "
                "nothing was sent to Xero"
            )
        outcome = wiring.get_engine().sync(
            invoice, deadline=settings.sync_deadline, jobs=wiring.get_jobs()
        )
    except BmsXeroError as e:
        error = ErrorView.of(e, tz=timezone.get_current_timezone())
        if _wants_json(request):
            return JsonResponse({"outcome": "failed", "error": error.to_dict()}, status=400)
        _tell(request, messages.ERROR, f"Not synced with Xero: {error.message}. {error.fix}")
        return HttpResponseRedirect(after)
    view = PanelView.of(
        outcome,
        now=wiring.get_clock().now(),
        tz=timezone.get_current_timezone(),
        job=_shown_job(outcome, settings.tenant_id, invoice_id),
    )
    level, text = outcome_message(outcome, view)
    if _wants_json(request):
        return JsonResponse(
            {"outcome": outcome.kind.value, "message": text, "panel": view.to_dict()}
        )
    _tell(request, level, text)
    return HttpResponseRedirect(after)


def _shown_job(outcome: SyncOutcome, tenant_id: str, invoice_id: str) -> Any:
    """The job the panel shows after a press: the one queued, else the invoice's waiting
    or failed job in the store."""
    if outcome.job is not None:
        return outcome.job
    return invoice_job(wiring.get_jobs(), tenant_id, invoice_id)


@guarded("GET", json=True)
def panel_json(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """The panel as JSON (``PanelView.to_dict()``), for hosts with their own UI. Reads the
    database only, so it answers while Xero is down."""
    try:
        view = load_panel(invoice_id)
    except BmsXeroError as e:
        error = ErrorView.of(e, tz=timezone.get_current_timezone())
        return JsonResponse({"error": error.to_dict()}, status=500)
    return JsonResponse(view.to_dict())


# --- connecting ------------------------------------------------------------------------------


def _connections_page() -> str:
    """The admin's list of Xero connections, or ``/`` without the admin."""
    try:
        return str(reverse("admin:bms_xero_token_changelist"))
    except NoReverseMatch:
        return "/"


def _app_connection() -> str:
    settings = wiring.get_settings()
    if settings.connection_id is None:
        raise ConfigurationError(
            "connecting is for an app connection: set BMS_XERO['CONNECTION_ID'] (e.g. "
            "'default'); a custom connection needs no connect step (its client id and secret "
            "come from the environment)"
        )
    return settings.connection_id


def _redirect_uri(request: HttpRequest) -> str:
    configured = wiring.get_settings().redirect_uri
    return configured or str(request.build_absolute_uri(reverse("bms_xero:callback")))


def _saved(request: AuthorizationRequest, after: str) -> dict[str, Any]:
    return {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "scopes": list(request.scopes),
        "state": request.state,
        "code_verifier": request.code_verifier,
        "url": request.url,
        "next": after,
    }


def _restored(data: Mapping[str, Any]) -> AuthorizationRequest:
    return AuthorizationRequest(
        url=str(data["url"]),
        client_id=str(data["client_id"]),
        redirect_uri=str(data["redirect_uri"]),
        scopes=tuple(data["scopes"]),
        state=str(data["state"]),
        code_verifier=data.get("code_verifier"),
    )


@guarded("GET")
def connect(request: HttpRequest) -> HttpResponse:
    """Start connecting the app: a fresh ``state`` and PKCE pair wait in the session, and
    the person is sent to Xero's consent step (``BMS_XERO['AUTHORIZE_URL']``)."""
    try:
        _app_connection()
        settings = wiring.get_settings()
        creds = wiring.credentials()
        started = start_authorization(
            creds.client_id,
            _redirect_uri(request),
            scopes=settings.scopes,
            authorize_url_base=settings.authorize_url,
        )
    except ConfigurationError as e:
        _tell(request, messages.ERROR, f"Can't connect to Xero: {e}")
        return HttpResponseRedirect(_back(request, _connections_page()))
    request.session[_SESSION_KEY] = _saved(started, _back(request, _connections_page()))
    return HttpResponseRedirect(started.url)


def _identity_client(transport: Any, connection_id: str, creds: wiring.Credentials) -> XeroClient:
    settings = wiring.get_settings()
    auth = RefreshTokenAuth(
        creds.client_id,
        creds.client_secret,
        wiring.get_tokens(),
        connection_id=connection_id,
        token_url=settings.token_url,
    )
    return XeroClient(
        transport,
        auth=auth,
        clock=wiring.get_clock(),
        base_url=settings.api_url,
        connections_url=settings.connections_url,
    )


def chosen_tenant(found: list[Connection], tenant_id: str) -> str:
    """What to tell the person about the organisations a connection reaches (pure)."""
    for c in found:
        if c.tenant_id == tenant_id:
            return f"Connected to Xero: using {c.tenant_name or 'the organisation'} ({tenant_id})."
    listed = ", ".join(f"{c.tenant_name or 'unnamed'} ({c.tenant_id})" for c in found) or "none"
    return (
        f"Connected to Xero, but the connection does not reach the organisation in "
        f"BMS_XERO['TENANT_ID'] ({tenant_id}). It reaches: {listed}. Set TENANT_ID to one of "
        "these, or connect again and pick that organisation."
    )


@guarded("GET")
def callback(request: HttpRequest) -> HttpResponse:
    """Xero's redirect back: check it belongs to the authorisation in the session, trade the
    code for tokens (saved in the Django token store), and check the organisation."""
    data = request.session.pop(_SESSION_KEY, None)
    if not isinstance(data, Mapping):
        return HttpResponseBadRequest(
            "No connection to Xero is waiting in this browser session (it expired, or it was "
            "started elsewhere): start again from the connect link.",
            content_type="text/plain; charset=utf-8",
        )
    pending = _restored(data)
    after = str(data.get("next") or _connections_page())
    settings = wiring.get_settings()
    transport = wiring.new_transport()
    try:
        connection_id = _app_connection()
        creds = wiring.credentials()
        finish_authorization(
            transport,
            pending,
            {k: request.GET[k] for k in request.GET},
            client_secret=creds.client_secret,
            clock=wiring.get_clock(),
            token_url=settings.token_url,
            store=wiring.get_tokens(),
            connection_id=connection_id,
        )
        found = _identity_client(transport, connection_id, creds).connections()
    except AuthorizationFailed as e:
        _tell(request, messages.ERROR, f"Xero was not connected: {e}")
        return HttpResponseRedirect(after)
    except BmsXeroError as e:
        log.warning("connecting to Xero failed: %s", e)
        _tell(request, messages.ERROR, f"Xero was not connected: {e}")
        return HttpResponseRedirect(after)
    finally:
        transport.close()
    reached = any(c.tenant_id == settings.tenant_id for c in found)
    _tell(
        request,
        messages.SUCCESS if reached else messages.WARNING,
        chosen_tenant(found, settings.tenant_id),
    )
    return HttpResponseRedirect(after)


# --- disconnecting ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DisconnectOutcome:
    """What :func:`disconnect_connection` did.

    Attributes:
        connection_id: The connection.
        had_tokens: Whether tokens were stored for it.
        revoked: Whether Xero revoked the refresh token (which removes the connections it
            authorised).
    """

    connection_id: str
    had_tokens: bool
    revoked: bool

    @property
    def message(self) -> str:
        """What to tell the person."""
        if not self.had_tokens:
            return f"No tokens were stored for the Xero connection {self.connection_id!r}."
        revoked = "revoked its access at Xero and " if self.revoked else ""
        return f"Disconnected from Xero: {revoked}deleted the stored tokens."


def disconnect_connection(connection_id: str) -> DisconnectOutcome:
    """Revoke the connection's refresh token at Xero (so Xero removes the organisations it
    connected), then delete its tokens. Used by the disconnect view and the admin action.

    Raises:
        TransportError: Xero's revocation endpoint could not be reached; the tokens are
            kept, so disconnecting can be tried again.
        ConfigurationError: The client id (or secret) is not in the environment.
    """
    tokens = wiring.get_tokens()
    stored = tokens.load(connection_id)
    if stored is None:
        return DisconnectOutcome(connection_id=connection_id, had_tokens=False, revoked=False)
    revoked = False
    refresh = stored.token.refresh_token
    if refresh is not None:
        creds = wiring.credentials()
        transport = wiring.new_transport()
        try:
            revoke_token(
                transport,
                client_id=creds.client_id,
                client_secret=creds.client_secret,
                token=refresh,
                revocation_url=wiring.get_settings().revocation_url,
            )
            revoked = True
        except TransportError:
            raise
        except AuthError as e:
            # The app's credentials were refused: the token can't be revoked from here, but
            # forgetting it is still what the person asked for.
            log.warning("revoking the Xero refresh token was refused (%s); deleting it", e)
        finally:
            transport.close()
    tokens.delete(connection_id)
    return DisconnectOutcome(connection_id=connection_id, had_tokens=True, revoked=revoked)


@guarded("POST")
def disconnect(request: HttpRequest) -> HttpResponse:
    """Disconnect the app connection (POST): revoke at Xero, delete the stored tokens."""
    after = _back(request, _connections_page())
    try:
        outcome = disconnect_connection(_app_connection())
    except BmsXeroError as e:
        _tell(request, messages.ERROR, f"Xero was not disconnected: {e}")
        return HttpResponseRedirect(after)
    _tell(request, messages.SUCCESS, outcome.message)
    return HttpResponseRedirect(after)
