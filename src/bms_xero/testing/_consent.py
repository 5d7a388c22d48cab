"""The consent step, ``GET /identity/connect/authorize``: where a person approves the app.

Xero shows a login and a consent screen, then redirects the browser to the app's
``redirect_uri`` with ``code`` and ``state`` (or ``error=access_denied``). The fake answers
an HTTP client at once with that redirect (a ``302``), deciding as :class:`ConsentPolicy`
says, so a host's connect and callback routes can be tested by following redirects. A client
that asks for HTML (``Accept: text/html``, as browsers do) gets a small page instead, listing
the organisations with an Allow and a Cancel button, which posts the choice back to the same
path.

Problems with the client id or the redirect URI are answered with an error page and never
redirected (RFC 6749 section 4.1.2.1); the others go back to the redirect URI as ``error=``.

The tokens of an approval cover the organisations picked (connected anew, under this
approval's ``authEventId``) and those the app was connected to before, which keep their
earlier ``authEventId``: so ``/connections`` lists both and the event id tells the new ones
apart, which is what ``authEventId`` is for in Xero's documentation.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Mapping, Sequence

import attrs

from bms_xero.testing._api import FakeRequest, Reply
from bms_xero.testing._oauth import Identity

__all__ = ["AUTHORIZE_PATH", "ConsentPolicy", "consent"]

AUTHORIZE_PATH = "/identity/connect/authorize"
_SCOPE = re.compile(r"[a-z][a-z_]*(\.[a-z_]+)*")
_NO_STORE = ("Cache-Control", "no-store")


@attrs.define(kw_only=True)
class ConsentPolicy:
    """What the person does at the consent step when nobody clicks (an HTTP client).

    Attributes:
        tenant_ids: The organisations they pick; ``None``: every organisation in the fake.
        approve: Whether they allow the app (``False``: ``error=access_denied``).
    """

    tenant_ids: tuple[str, ...] | None = None
    approve: bool = True


def _params(call: FakeRequest) -> tuple[dict[str, str], list[str]]:
    """The request's parameters (the query of a GET, the form of a POST), and the tenants a
    posted form picked."""
    if call.method == "POST":
        pairs = urllib.parse.parse_qsl(call.body.decode("utf-8", "replace"), True)
    else:
        pairs = urllib.parse.parse_qsl(call.raw_query, True)
    values = {name.casefold(): value for name, value in pairs}
    return values, [value for name, value in pairs if name.casefold() == "tenant"]


def _page(status: int, title: str, body: str) -> Reply:
    text = (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
        f"{body}\n</body></html>\n"
    )
    return Reply(
        status,
        (("Content-Type", "text/html; charset=utf-8"), _NO_STORE),
        text.encode("utf-8"),
    )


def _refuse(message: str) -> Reply:
    """An error the browser shows, with no redirect (the redirect URI can't be trusted)."""
    return _page(400, "FakeXero: this authorisation can't go on", f"<p>{html.escape(message)}</p>")


def _redirect(redirect_uri: str, params: Sequence[tuple[str, str]]) -> Reply:
    parts = urllib.parse.urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urllib.parse.urlencode(params)) if q)
    location = urllib.parse.urlunsplit(parts._replace(query=query))
    body = f"<a href='{html.escape(location)}'>Continue</a>"
    return Reply(
        302,
        (("Location", location), ("Content-Type", "text/html; charset=utf-8"), _NO_STORE),
        body.encode("utf-8"),
    )


def _form(values: Mapping[str, str], organisations: Mapping[str, str]) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in values.items()
        if k not in ("tenant", "decision")
    )
    boxes = "".join(
        f"<li><label><input type='checkbox' name='tenant' value='{html.escape(t)}' checked> "
        f"{html.escape(name)}</label></li>"
        for t, name in organisations.items()
    )
    scopes = html.escape(values.get("scope", ""))
    return (
        f"<p>Allow this app ({html.escape(values.get('client_id', ''))}) to use: {scopes}</p>\n"
        f"<form method='post' action='{AUTHORIZE_PATH}'>{hidden}\n<ul>{boxes}</ul>\n"
        "<button type='submit' name='decision' value='allow'>Allow access</button> "
        "<button type='submit' name='decision' value='deny'>Cancel</button>\n</form>"
    )


def consent(
    call: FakeRequest,
    identity: Identity,
    organisations: Mapping[str, str],
    policy: ConsentPolicy,
) -> Reply:
    """Answer the authorise endpoint.

    Args:
        call: The request (a GET from the app's link, or the page's POST).
        identity: The fake's identity service, which issues the code.
        organisations: Every organisation in the fake, tenant id to name.
        policy: What happens without a person clicking.
    """
    values, picked = _params(call)
    client_id = values.get("client_id", "")
    if client_id not in (identity.client_id, identity.pkce_client_id):
        return _refuse("unauthorized_client: no app has this client_id")
    redirect_uri = values.get("redirect_uri", "")
    target = urllib.parse.urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        return _refuse("invalid_request: redirect_uri must be an absolute http(s) URL")
    state = values.get("state")

    def back(**params: str) -> Reply:
        extra = [] if state is None else [("state", state)]
        return _redirect(redirect_uri, [*params.items(), *extra])

    scope = values.get("scope", "")
    challenge = values.get("code_challenge") or None
    method = values.get("code_challenge_method")
    if values.get("response_type") != "code":
        return back(error="unsupported_response_type")
    if not scope.split() or not all(_SCOPE.fullmatch(s) for s in scope.split()):
        return back(error="invalid_scope")
    if challenge is not None and method != "S256":
        return back(error="invalid_request", error_description="code_challenge_method must be S256")
    if challenge is None and client_id == identity.pkce_client_id:
        return back(error="invalid_request", error_description="code_challenge is required")

    if call.method == "POST":
        approve = values.get("decision") == "allow"
        chosen = [t for t in picked if t in organisations]
    elif "text/html" in call.headers.get("accept", ""):
        return _page(200, "FakeXero: connect an app", _form(values, organisations))
    else:
        approve = policy.approve
        wanted = organisations if policy.tenant_ids is None else policy.tenant_ids
        chosen = [t for t in wanted if t in organisations]
    if not approve or not chosen:
        return back(error="access_denied")
    code = identity.authorize(
        chosen,
        scope,
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        keep=list(identity.connections),
    )
    return back(code=code, scope=scope, session_state=identity.client_id[:8].lower())
