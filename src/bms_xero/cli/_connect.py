"""``bms-xero connect``, ``connections`` and ``disconnect``: an app connection, from a terminal.

``connect`` runs the authorization-code flow with ``state`` and PKCE
(:mod:`bms_xero.xero._connect`): it listens on the loopback redirect URI (or, with
``--paste``, reads the address the browser ended on), trades the code for tokens, saves them
in the SQLite file's token store, lists the organisations from ``/connections`` (those this
authorisation connected marked ``new``) and saves the connection and the chosen organisation
for the commands that follow (:mod:`._saved`). ``connections`` lists them (``--use`` picks
another); ``disconnect`` removes an organisation's connection and, with the last one, revokes
the refresh token and deletes the stored tokens.

Codes, verifiers and tokens are added to the output's redactor as soon as they exist.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import webbrowser
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bms_xero.cli._output import EXIT_FAILED, EXIT_OK, EXIT_REMOTE, UsageError, error_document
from bms_xero.cli._saved import is_saved
from bms_xero.errors import AuthorizationFailed, ConfigurationError, ReauthorizationRequired
from bms_xero.xero import (
    DEFAULT_SCOPES,
    Connection,
    RefreshTokenAuth,
    XeroClient,
    finish_authorization,
    read_callback,
    revoke_token,
    start_authorization,
)
from bms_xero.xero._auth import _scope_list
from bms_xero.xero._scopes import granted_scopes

if TYPE_CHECKING:
    from bms_xero.cli._operator import Context

__all__ = ["CONNECT_COMMANDS", "open_browser", "run_connect", "run_connections", "run_disconnect"]

_Subparsers = Any  # argparse's _SubParsersAction is private
DEFAULT_CONNECTION = "default"
_SCOPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
DEFAULT_TIMEOUT = 300.0


def open_browser(url: str) -> bool:
    """Open ``url`` in the desktop's browser; never a text browser in this terminal (with no
    display, Python's :mod:`webbrowser` would start one), so without a display it does
    nothing and the printed link is the way."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _add_connect(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "connect",
        parents=[common],
        help="connect the Xero app to organisations (sign in to Xero in a browser)",
        description=(
            "Authorise the app (authorization code with PKCE and state): open the printed "
            "link, approve in Xero, and the redirect comes back to a listener on this machine "
            "(or paste it with --paste). Tokens are saved in the SQLite file, the "
            "organisations are listed, and the connection and organisation chosen are saved "
            "for the commands that follow. No client secret is needed for a PKCE app."
        ),
    )
    parser.add_argument(
        "--redirect-uri",
        metavar="URI",
        default=None,
        help="the app's registered redirect URI (default: $BMS_XERO_REDIRECT_URI, else "
        "http://localhost:8765/callback); listened on unless --paste",
    )
    parser.add_argument(
        "--paste",
        action="store_true",
        help="don't listen: paste the address the browser ends on (for remote machines)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="only print the link, don't open a browser"
    )
    parser.add_argument(
        "--connection-id",
        metavar="NAME",
        default=None,
        help="the tokens' key in the token store (default: $BMS_XERO_CONNECTION_ID, else "
        "'default')",
    )
    parser.add_argument(
        "--scopes",
        metavar="SCOPES",
        default=None,
        help="scopes to ask for, space separated (default: exactly those bms_xero needs)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up waiting for the redirect after SECONDS (default 300)",
    )
    parser.set_defaults(run=run_connect)


def _add_connections(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "connections",
        parents=[common],
        help="list the organisations the connection reaches (--use picks one)",
        description=(
            "List the organisations from Xero's /connections; * marks the one commands use. "
            "--use TENANT_ID saves another in the SQLite file."
        ),
    )
    parser.add_argument("--use", metavar="TENANT_ID", default=None, help="use this one from now")
    parser.set_defaults(run=run_connections)


def _add_disconnect(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "disconnect",
        parents=[common],
        help="disconnect the app from the organisation (the last one: revoke, delete tokens)",
        description=(
            "Remove the app's connection to the organisation in use (DELETE /connections/{id})"
            "; when no organisation is left, revoke the refresh token at Xero and delete the "
            "stored tokens and saved settings."
        ),
    )
    parser.add_argument(
        "--all", action="store_true", help="every organisation the connection reaches"
    )
    parser.set_defaults(run=run_disconnect)


# --- shared ----------------------------------------------------------------------------------


def _connection_document(
    c: Connection, *, selected: str | None, new: set[str] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": c.id,
        "tenant_id": c.tenant_id,
        "tenant_name": c.tenant_name,
        "tenant_type": c.tenant_type,
        "auth_event_id": c.auth_event_id,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "selected": c.tenant_id == selected,
    }
    if new is not None:
        doc["new"] = c.id in new
    return doc


def _table(
    ctx: Context, found: Sequence[Connection], selected: str | None, new: set[str] | None = None
) -> None:
    rows = []
    for c in found:
        marks = ["new"] if new is not None and c.id in new else []
        if (c.tenant_type or "ORGANISATION") != "ORGANISATION":
            marks.append(c.tenant_type or "")
        rows.append(
            [
                "*" if c.tenant_id == selected else "",
                c.tenant_id,
                c.tenant_name or "(unnamed)",
                ", ".join(marks),
            ]
        )
    if rows:
        ctx.out.table(rows, header=["", "TENANT ID", "ORGANISATION", ""])


def _organisations(found: Sequence[Connection]) -> list[Connection]:
    return [c for c in found if (c.tenant_type or "ORGANISATION") == "ORGANISATION"]


def _pick(found: Sequence[Connection], tenant_id: str) -> Connection:
    for c in found:
        if c.tenant_id == tenant_id:
            return c
    listed = ", ".join(f"{c.tenant_id} ({c.tenant_name or 'unnamed'})" for c in found) or "none"
    raise ConfigurationError(
        f"the connection does not reach organisation {tenant_id}; it reaches: {listed}"
    )


def _explicit_tenant(ctx: Context) -> str | None:
    """The organisation the operator named (a flag, the environment, the TOML file), not the
    one a previous ``connect`` saved."""
    settings = ctx.runtime.settings
    return None if is_saved(settings, "tenant_id") else settings.tenant_id


def _interactive(ctx: Context) -> bool:
    stdin = ctx.stdin if ctx.stdin is not None else sys.stdin
    return bool(getattr(stdin, "isatty", lambda: False)()) and not ctx.out.json_mode


def _ask(ctx: Context, choices: Sequence[Connection]) -> Connection | None:
    """Ask the person at the terminal which organisation to use."""
    stdin = ctx.stdin if ctx.stdin is not None else sys.stdin
    for n, c in enumerate(choices, 1):
        ctx.out.note(f"  {n}. {c.tenant_name or '(unnamed)'} ({c.tenant_id})")
    ctx.out.stderr.write(f"Which organisation should bms-xero use? [1-{len(choices)}] ")
    ctx.out.stderr.flush()
    answer = stdin.readline().strip()
    if answer.isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1]
    return None


# --- connect ---------------------------------------------------------------------------------


def _scopes(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_SCOPES
    try:
        scopes = _scope_list(text.replace(",", " "))
    except ConfigurationError as e:
        raise UsageError(f"--scopes: {e}") from None
    if not scopes:
        raise UsageError("--scopes: give at least one scope")
    for scope in scopes:
        if not _SCOPE.fullmatch(scope):
            raise UsageError(
                f"--scopes: {scope[:40]!r} is not a Xero scope (they look like "
                "accounting.invoices or offline_access)"
            )
    return scopes


def run_connect(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero connect``."""
    rt = ctx.runtime
    settings = rt.settings
    out = ctx.out
    client_id: str = settings.require("client_id")
    rt.db  # noqa: B018 - the tokens go to the SQLite file: fail now, before Xero, if unset
    connection_id = args.connection_id or settings.connection_id or DEFAULT_CONNECTION
    redirect_uri = args.redirect_uri or settings.redirect_uri
    scopes = _scopes(args.scopes)
    secret = rt.client_secret
    wanted = _explicit_tenant(ctx)

    def started(uri: str) -> Any:
        request = start_authorization(
            client_id, uri, scopes=scopes, authorize_url_base=settings.authorize_url
        )
        assert request.code_verifier is not None
        out.add_secret(request.code_verifier)
        return request

    if args.paste:
        request = started(redirect_uri)
        callback = _pasted(ctx, request.url, args.no_browser, redirect_uri)
        read_callback(request, callback)  # the state first: refuse a stale one before sending
    else:
        callback, request = _listened(ctx, redirect_uri, started, args)
    out.add_secret(read_callback(request, callback))  # the code

    transport = rt.transport()
    try:
        store = rt.tokens()
        authorization = finish_authorization(
            transport,
            request,
            callback,
            client_secret=secret,
            clock=rt.clock,
            token_url=settings.token_url,
            store=store,
            connection_id=connection_id,
        )
        token = authorization.token
        out.add_secret(token.access_token)
        if token.refresh_token is not None:
            out.add_secret(token.refresh_token)
        auth = RefreshTokenAuth(
            client_id, secret, store, connection_id=connection_id, token_url=settings.token_url
        )
        with XeroClient(
            transport,
            auth=auth,
            clock=rt.clock,
            base_url=settings.api_url,
            connections_url=settings.connections_url,
        ) as client:
            found = client.connections()
    finally:
        transport.close()

    new = {
        c.id for c in found if c.auth_event_id and c.auth_event_id == authorization.auth_event_id
    }
    if authorization.auth_event_id is None:
        new = {c.id for c in found}  # can't tell: count every one as this authorisation's
    chosen = _choose(ctx, found, new, wanted)
    rt.saved().save(
        {
            "client_id": client_id,
            "connection_id": connection_id,
            "tenant_id": None if chosen is None else chosen.tenant_id,
        },
        now=rt.clock.now(),
    )
    selected = None if chosen is None else chosen.tenant_id
    granted = granted_scopes(token.access_token) or token.scopes
    out.document(
        {
            "command": "connect",
            "connection_id": connection_id,
            "tenant_id": selected,
            "auth_event_id": authorization.auth_event_id,
            "scopes": list(granted),
            "connections": [_connection_document(c, selected=selected, new=new) for c in found],
        }
    )
    out.line(f"Connected to Xero: tokens saved in {rt.db} (connection {connection_id!r}).")
    _table(ctx, found, selected, new)
    if chosen is not None:
        out.line(
            f"Using {chosen.tenant_name or 'the organisation'} ({chosen.tenant_id}) from now on; "
            "`bms-xero connections --use TENANT_ID` picks another."
        )
        return EXIT_OK
    if not _organisations(found):
        out.line("No organisation was connected: run `bms-xero connect` again and pick one.")
        return EXIT_FAILED
    out.line(
        "Several organisations were connected: choose the one to use with "
        "`bms-xero connections --use TENANT_ID`."
    )
    return EXIT_OK


def _choose(
    ctx: Context, found: Sequence[Connection], new: set[str], wanted: str | None
) -> Connection | None:
    if wanted is not None:
        return _pick(found, wanted)
    fresh = [c for c in _organisations(found) if c.id in new]
    candidates = fresh or _organisations(found)
    if len(candidates) == 1:
        return candidates[0]
    if candidates and _interactive(ctx):
        return _ask(ctx, candidates)
    return None


def _announce(ctx: Context, url: str, no_browser: bool) -> None:
    ctx.out.note("Open this link in a browser, sign in to Xero and allow access:")
    ctx.out.note(f"  {url}")
    if not no_browser:
        browser: Callable[[str], object] = ctx.browser or open_browser
        browser(url)


def _listened(
    ctx: Context, redirect_uri: str, started: Callable[[str], Any], args: argparse.Namespace
) -> tuple[str, Any]:
    from bms_xero.cli._listener import CallbackListener, Verdict, is_loopback_uri

    if not is_loopback_uri(redirect_uri):
        raise UsageError(
            f"the redirect URI {redirect_uri} is not on this machine, so it can't be listened "
            "for: pass --paste (and paste the address the browser ends on), or register and "
            "pass an http://localhost:PORT/... --redirect-uri"
        )
    holder: dict[str, Any] = {}

    def judge(query: str) -> Verdict:
        if "request" not in holder:  # before the link exists: not ours
            return Verdict(False, 400, "This is not the authorisation bms-xero waits for.")
        try:
            read_callback(holder["request"], query)
        except AuthorizationFailed as e:
            if e.reason == "state_mismatch":
                return Verdict(False, 400, "This is not the authorisation bms-xero waits for.")
            return Verdict(True, 400, f"Not connected: {e}", e)
        return Verdict(True, 200, "bms-xero has the authorisation: back to the terminal.")

    # Listen first, so the redirect can't come before anyone waits for it.
    with CallbackListener(redirect_uri, judge) as listener:
        holder["request"] = request = started(listener.redirect_uri)
        _announce(ctx, request.url, args.no_browser)
        ctx.out.note(f"Waiting for Xero's redirect to {listener.redirect_uri} ...")
        query = listener.wait(args.timeout)
    return query, request


def _pasted(ctx: Context, url: str, no_browser: bool, redirect_uri: str) -> str:
    _announce(ctx, url, no_browser)
    ctx.out.note(f"Then paste the address the browser ends on (it starts {redirect_uri}):")
    stdin = ctx.stdin if ctx.stdin is not None else sys.stdin
    line = stdin.readline().strip()
    if not line:
        raise UsageError("nothing was pasted: run connect again and paste the whole address")
    return str(line)


# --- connections -----------------------------------------------------------------------------


def run_connections(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero connections``."""
    rt = ctx.runtime
    found = rt.identity_client().connections()
    selected = rt.settings.tenant_id
    if args.use is not None:
        chosen = _pick(found, args.use)
        selected = chosen.tenant_id
        rt.saved().save(
            {
                "client_id": rt.settings.client_id,
                "connection_id": rt.settings.connection_id,
                "tenant_id": selected,
            },
            now=rt.clock.now(),
        )
    ctx.out.document(
        {
            "command": "connections",
            "connection_id": rt.settings.connection_id,
            "tenant_id": selected,
            "connections": [_connection_document(c, selected=selected) for c in found],
        }
    )
    if not found:
        ctx.out.line("No organisations: run `bms-xero connect` to connect one.")
        return EXIT_OK
    _table(ctx, found, selected)
    if args.use is not None:
        ctx.out.line(f"Using {selected} from now on (saved in {rt.db}).")
    elif selected is None:
        ctx.out.line("None is chosen: pick one with `bms-xero connections --use TENANT_ID`.")
    return EXIT_OK


# --- disconnect ------------------------------------------------------------------------------


def _forget(ctx: Context, connection_id: str) -> None:
    ctx.runtime.tokens().delete(connection_id)
    ctx.runtime.saved().save(
        {"client_id": None, "connection_id": None, "tenant_id": None}, now=ctx.runtime.clock.now()
    )


def run_disconnect(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero disconnect [--all]``."""
    rt = ctx.runtime
    out = ctx.out
    connection_id = rt.settings.connection_id
    if connection_id is None:
        raise ConfigurationError(
            "disconnect is for an app connection made with `bms-xero connect` (or set "
            "BMS_XERO_CONNECTION_ID); a custom connection is removed in the Xero developer "
            "portal"
        )
    client_id: str = rt.settings.require("client_id")
    stored = rt.tokens().load(connection_id)
    doc: dict[str, Any] = {
        "command": "disconnect",
        "connection_id": connection_id,
        "disconnected": [],
        "remaining": [],
        "revoked": False,
        "tokens_deleted": False,
    }
    if stored is None:
        _forget(ctx, connection_id)
        out.document(doc)
        out.line(f"No tokens are stored for connection {connection_id!r}: nothing to disconnect.")
        return EXIT_OK
    for value in (stored.token.access_token, stored.token.refresh_token):
        if value:
            out.add_secret(value)
    client = rt.identity_client()
    try:
        found = client.connections()
    except ReauthorizationRequired as e:
        _forget(ctx, connection_id)
        doc.update(tokens_deleted=True, error=error_document(e, verbose=out.verbose))
        out.document(doc)
        out.line(
            f"Xero no longer accepts the stored tokens ({e}); deleted them from {rt.db}. If "
            "the app still shows in Xero, remove it there (Settings, Connected apps)."
        )
        return EXIT_REMOTE
    selected = rt.settings.tenant_id
    if args.all:
        targets = list(found)
    elif selected is not None:
        targets = [c for c in found if c.tenant_id == selected]
        if not targets:
            out.note(f"organisation {selected} is not connected (any more)")
    elif len(found) <= 1:
        targets = list(found)
    else:
        raise UsageError(
            f"the connection reaches {len(found)} organisations: name one with --tenant-id, "
            "or pass --all"
        )
    for c in targets:
        client.disconnect(c.id)
    gone = {c.id for c in targets}
    remaining = [c for c in found if c.id not in gone]
    doc["disconnected"] = [_connection_document(c, selected=selected) for c in targets]
    doc["remaining"] = [_connection_document(c, selected=selected) for c in remaining]
    if not remaining:
        if stored.token.refresh_token is not None:
            transport = rt.transport()
            try:
                revoke_token(
                    transport,
                    client_id=client_id,
                    client_secret=rt.client_secret,
                    token=stored.token.refresh_token,
                    revocation_url=rt.settings.revocation_url,
                )
            finally:
                transport.close()
            doc["revoked"] = True
        _forget(ctx, connection_id)
        doc["tokens_deleted"] = True
    elif selected in {c.tenant_id for c in targets}:
        rt.saved().save({"tenant_id": None}, now=rt.clock.now())
    out.document(doc)
    for c in targets:
        out.line(f"Disconnected {c.tenant_name or '(unnamed)'} ({c.tenant_id}).")
    if doc["tokens_deleted"]:
        revoked = "revoked the refresh token and " if doc["revoked"] else ""
        out.line(f"No organisation is left: {revoked}deleted the stored tokens from {rt.db}.")
    else:
        out.line(
            f"{len(remaining)} organisation{'s' * (len(remaining) != 1)} still connected; "
            "`bms-xero disconnect --all` removes them and the tokens."
        )
    return EXIT_OK


CONNECT_COMMANDS = (_add_connect, _add_connections, _add_disconnect)
