"""Connecting an app to Xero from the BMS: connect (PKCE and state in the session), Xero's
consent step (FakeXero's), the callback (tokens into the Django token store), disconnect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client

from bms_xero.contrib.django import wiring
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App, csrf_token

CONNECT = "/xero/connect/?next=/invoices/I-1/"


@pytest.fixture(name="connected_app")
def _connected_app(app: App) -> Iterator[App]:
    """The app as an app connection (``CONNECTION_ID``) rather than a custom connection."""
    with app.settings(CONNECTION_ID="default"):
        yield app


def consent(app: App, authorize_url: str) -> str:
    """What Xero's consent step redirects the browser to (FakeXero approves at once)."""
    with httpx.Client(transport=app.xero.transport) as browser:
        answer = browser.get(authorize_url)
    assert 302 == answer.status_code, answer.text
    return answer.headers["Location"]


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def messages_after(client: Client, response: Any) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


def test_connect_sends_the_person_to_xero_with_state_and_pkce(
    connected_app: App, client: Client
) -> None:
    """Connect redirects to the consent step with a fresh state, an S256 PKCE challenge,
    the callback as redirect URI and the scopes bms_xero needs."""
    response = client.get(CONNECT)
    target = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert (
        302,
        "https://login.xero.com/identity/connect/authorize",
        connected_app.xero.client_id,
        "http://testserver/xero/callback/",
        "S256",
        True,
        True,
    ) == (
        response.status_code,
        f"{target.scheme}://{target.netloc}{target.path}",
        query["client_id"],
        query["redirect_uri"],
        query["code_challenge_method"],
        len(query["state"]) >= 24 and len(query["code_challenge"]) >= 43,
        "offline_access" in query["scope"].split(),
    )


def test_the_whole_flow_saves_the_tokens_and_names_the_organisation(
    connected_app: App, client: Client
) -> None:
    """Connect, approve, come back: the tokens are in the Django token store, the person is
    back on ``next`` told which organisation is used, and the engine can push with them."""
    app = connected_app
    back = consent(app, client.get(CONNECT)["Location"])
    response = client.get(local(back))
    stored = wiring.get_tokens().load("default")
    assert (302, "/invoices/I-1/", True) == (
        response.status_code,
        response["Location"],
        stored is not None and stored.token.refresh_token is not None,
    )
    assert [f"Connected to Xero: using Demo Company (NZ) ({app.tenant_id})."] == messages_after(
        client, response
    )
    outcome = wiring.get_engine().push(app.invoice(1))
    assert outcome.xero_invoice_id is not None


def test_a_pkce_app_without_a_secret_connects(
    connected_app: App, client: Client, monkeypatch: Any
) -> None:
    """A public (PKCE) app has no secret: the flow works with the client id alone."""
    app = connected_app
    monkeypatch.setenv("BMS_XERO_TEST_CLIENT_ID", app.xero.pkce_client_id)
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_SECRET")
    back = consent(app, client.get(CONNECT)["Location"])
    client.get(local(back))
    assert wiring.get_tokens().load("default") is not None


def test_a_redirect_with_another_state_saves_nothing(connected_app: App, client: Client) -> None:
    """A callback whose state is not the session's (stale tab, forged link) saves nothing
    and says so."""
    back = consent(connected_app, client.get(CONNECT)["Location"])
    forged = back.replace("state=", "state=x")
    response = client.get(local(forged))
    [message] = messages_after(client, response)
    assert (None, True) == (
        wiring.get_tokens().load("default"),
        message.startswith(
            "Xero was not connected: connecting to Xero did not complete: the redirect does "
            "not belong to this authorisation"
        ),
    )


def test_declining_in_xero_saves_nothing(connected_app: App, client: Client) -> None:
    """When the person declines, they come back told so, with nothing saved."""
    connected_app.xero.set_consent(approve=False)
    back = consent(connected_app, client.get(CONNECT)["Location"])
    response = client.get(local(back))
    [message] = messages_after(client, response)
    assert (None, True) == (
        wiring.get_tokens().load("default"),
        "the person declined to connect the app in Xero" in message,
    )


def test_a_callback_with_nothing_waiting_is_refused(connected_app: App, client: Client) -> None:
    """A callback in a session that started no connection is refused (400)."""
    response = client.get("/xero/callback/?code=abc&state=def")
    assert (400, True) == (
        response.status_code,
        b"start again from the connect link" in response.content,
    )


def test_the_callback_is_single_use(connected_app: App, client: Client) -> None:
    """The pending authorisation leaves the session at the first callback: replaying the
    redirect is refused."""
    back = consent(connected_app, client.get(CONNECT)["Location"])
    client.get(local(back))
    assert 400 == client.get(local(back)).status_code


def test_another_organisation_than_the_configured_one_is_named(
    connected_app: App, client: Client
) -> None:
    """When the connection does not reach ``TENANT_ID``, the person is told which
    organisations it does reach."""
    with connected_app.settings(CONNECTION_ID="default", TENANT_ID="some-other-tenant"):
        back = consent(connected_app, client.get(CONNECT)["Location"])
        response = client.get(local(back))
        [message] = messages_after(client, response)
    assert message.startswith(
        "Connected to Xero, but the connection does not reach the organisation in "
        "BMS_XERO['TENANT_ID'] (some-other-tenant). It reaches: Demo Company (NZ) ("
    )


def test_disconnect_revokes_and_forgets(connected_app: App, client: Client) -> None:
    """Disconnect (POST) revokes the refresh token at Xero, which removes the connection, and
    deletes the stored tokens."""
    app = connected_app
    client.get(local(consent(app, client.get(CONNECT)["Location"])))
    app.invoice(1)
    token = csrf_token(client, "/invoices/I-1/")
    response = client.post("/xero/disconnect/", {"csrfmiddlewaretoken": token, "next": "/"})
    assert (302, None, [], True) == (
        response.status_code,
        wiring.get_tokens().load("default"),
        app.xero.connected_tenant_ids,
        any(r.path == "/connect/revocation" for r in app.xero.requests),
    )


def test_disconnect_needs_a_post_with_csrf(connected_app: App, client: Client) -> None:
    """A GET does nothing (405), a POST without the token is refused (403)."""
    assert (405, 403) == (
        client.get("/xero/disconnect/").status_code,
        client.post("/xero/disconnect/").status_code,
    )


def test_connect_is_for_app_connections_only(app: App, client: Client) -> None:
    """With a custom connection (no ``CONNECTION_ID``) connect explains there is nothing to
    connect, and sends nobody to Xero."""
    response = client.get(CONNECT)
    [message] = messages_after(client, response)
    assert ("/invoices/I-1/", True) == (
        response["Location"],
        message.startswith("Can't connect to Xero: connecting is for an app connection"),
    )


def test_connecting_needs_a_staff_user(connected_app: App) -> None:
    """Signed out, connect leads to the login page."""
    response = Client().get(CONNECT)
    assert response["Location"].startswith("/admin/login/?next=")
