"""Forged and replayed webhooks are refused; secrets stay out of logs, reprs, errors and output.

The scan itself is session-wide: the ``watch`` fixture (tests/reliability/conftest.py)
captures every log record at DEBUG and every error the reliability tests saw, and fails the
session if the fake's client secret, any token it issued or any webhook key shows up. The
tests here add the flows that handle secrets most: refresh-token connections, rejected
credentials, revoked grants, webhook receivers and the ``connect``/``disconnect`` commands.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.request
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.cli import main
from bms_xero.errors import AuthError, BmsXeroError, ReauthorizationRequired
from bms_xero.jobs import JobKind, MemoryJobStore
from bms_xero.storage import MemoryStore
from bms_xero.storage._tokens import MemoryTokenStore
from bms_xero.transport import HttpxTransport
from bms_xero.webhooks import WebhookReceiver, sign
from bms_xero.xero import RetryPolicy, XeroClient, exchange_code
from tests.reliability.conftest import (
    SecretWatch,
    TokenRecorder,
    _Capture,
    engine_for,
    examples,
    invoices_for,
    organisation,
    watched_client,
)
from tests.webhooks._support import delivery, event

KEY = "QmC7xY1pLr0sTuVw3AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcdefghij"


@pytest.fixture(name="linked")
def _linked(watch: SecretWatch) -> tuple[Any, MemoryStore, str]:
    """A fake with one pushed invoice, its sync records, and its Xero InvoiceID."""
    xero, customer = organisation(31)
    store = MemoryStore()
    pushed = engine_for(xero, store, watch).push(invoices_for(customer, 1)[0])
    return xero, store, pushed.xero_invoice_id


def _receiver(store: MemoryStore, jobs: MemoryJobStore, watch: SecretWatch) -> WebhookReceiver:
    watch.secret(KEY)
    receiver = WebhookReceiver(key=KEY, jobs=jobs, links=store)
    watch.saw(receiver)
    return receiver


@settings(max_examples=examples(60, 2000), derandomize=True, deadline=None)
@given(
    forged=st.one_of(
        st.text(max_size=60),
        st.binary(max_size=40).map(lambda b: sign(b, KEY)),  # a real signature of another body
        st.text(min_size=1, max_size=40).map(lambda k: sign(b"{}", k)),  # another key
    )
)
def test_forged_signatures_are_refused(forged: str) -> None:
    """A signature that is not the webhook key's HMAC of this very body gets 401, no jobs."""
    store, jobs = MemoryStore(), MemoryJobStore()
    receiver = WebhookReceiver(key=KEY, jobs=jobs, links=store)
    body = delivery(event("0b9c3a4e-6f8a-4c11-9f1b-1a2b3c4d5e6f"))
    answer = receiver(body, forged)

    assert (401, []) == (answer.status, jobs.list_jobs()) or forged == sign(body, KEY)


def test_a_signature_replayed_on_another_body_is_refused(
    linked: tuple[Any, MemoryStore, str], watch: SecretWatch
) -> None:
    """A captured signature sent with a different (or altered) body gets 401 and queues nothing."""
    xero, store, xero_id = linked
    jobs = MemoryJobStore()
    receiver = _receiver(store, jobs, watch)
    genuine = delivery(event(xero_id, tenant_id=xero.tenant_id))
    signature = sign(genuine, KEY)
    other = delivery(event(xero_id, tenant_id=xero.tenant_id), sequence=7)
    altered = genuine.replace(b"UPDATE", b"CREATE")

    answers = [receiver(body, signature).status for body in (other, altered, genuine + b" ")]

    assert ([401, 401, 401], []) == (answers, jobs.list_jobs())


def test_an_exact_replay_queues_no_second_pull(
    linked: tuple[Any, MemoryStore, str], watch: SecretWatch
) -> None:
    """Replaying a genuine delivery is answered 200 but leaves one waiting pull, not two."""
    xero, store, xero_id = linked
    jobs = MemoryJobStore()
    receiver = _receiver(store, jobs, watch)
    body = delivery(event(xero_id, tenant_id=xero.tenant_id))
    signature = sign(body, KEY)

    answers = [receiver(body, signature).status for _ in range(3)]

    assert ([200, 200, 200], [JobKind.PULL_INVOICES]) == (
        answers,
        [j.kind for j in jobs.list_jobs()],
    )


def test_refresh_token_connection_keeps_its_tokens_secret(watch: SecretWatch) -> None:
    """An app connection's code exchange, refreshes and a revoked grant leak no token."""
    xero, _ = organisation(32)
    watch.watch_fake(xero)
    tokens = MemoryTokenStore()
    transport = HttpxTransport(httpx.Client(transport=TokenRecorder(xero.transport, watch)))
    code = xero.authorize()
    exchange_code(
        transport,
        client_id=xero.client_id,
        client_secret=xero.client_secret,
        code=code,
        redirect_uri="https://bms.example/callback",
        clock=xero.clock,
        store=tokens,
        connection_id="conn-1",
    )
    client = XeroClient.from_token_store(
        xero.client_id,
        xero.client_secret,
        tokens,
        connection_id="conn-1",
        tenant_id=xero.tenant_id,
        http_client=httpx.Client(transport=TokenRecorder(xero.transport, watch)),
        clock=xero.clock,
        retry=RetryPolicy.none(),
    )
    client.get_organisation()
    xero.clock.advance(3 * 1800)  # the access token expires twice: two refreshes
    client.get_organisation()
    xero.clock.advance(3 * 1800)
    client.get_organisation()
    watch.saw(client, tokens, tokens.load("conn-1"))

    # The user disconnects the app in Xero: the stored refresh token stops working.
    stale = tokens.load("conn-1")
    assert stale is not None
    xero.clock.advance(90 * 86_400)
    with pytest.raises(ReauthorizationRequired) as refused:
        client.get_organisation()
    watch.saw(refused.value)

    assert 3 <= len(watch.secrets)
    assert stale.token.refresh_token not in f"{refused.value}{refused.value!r}"


def test_rejected_credentials_name_no_secret(watch: SecretWatch, caplog: Any) -> None:
    """A wrong client secret fails with AuthError whose text and logs don't contain it."""
    caplog.set_level(logging.DEBUG)
    xero, _ = organisation(33)
    wrong = "wrong-secret-9f8e7d6c5b4a39281706"
    watch.secret(wrong)
    client = XeroClient.from_client_credentials(
        xero.client_id,
        wrong,
        http_client=httpx.Client(transport=xero.transport),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        retry=RetryPolicy.none(),
    )
    with pytest.raises(AuthError) as refused:
        client.get_organisation()
    watch.saw(refused.value, client)

    assert wrong not in f"{refused.value}{refused.value!r}{client!r}{caplog.text}"


def test_reprs_of_everything_holding_a_secret(watch: SecretWatch) -> None:
    """Clients, engines, receivers and the fake render without any secret they hold."""
    xero, customer = organisation(34)
    store = MemoryStore()
    client = watched_client(xero, watch)
    engine = engine_for(xero, store, watch)
    engine.push(invoices_for(customer, 1)[0])
    client.get_organisation()
    receiver = _receiver(store, MemoryJobStore(), watch)
    shown = [client, engine, receiver, xero, xero.transport, client.limit_state()]
    watch.saw(*shown)
    texts = "".join(f"{o}{o!r}" for o in shown)

    assert [] == [s[:6] for s in watch.secrets if s in texts]


def test_the_scan_finds_a_planted_leak() -> None:
    """The secret scan is not blind: a secret in a log record or an error is reported."""
    watch = SecretWatch()
    watch.secret("planted-secret-0123456789")
    handler = _Capture(watch)
    logger = logging.getLogger("bms_xero.tests.planted")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("token %s", "planted-secret-0123456789")
    finally:
        logger.removeHandler(handler)
    watch.saw(BmsXeroError("bad planted-secret-0123456789"))

    assert {"log", "text"} == {where for where, _ in watch.leaks()}


def test_payments_come_back_without_secrets_in_logs(watch: SecretWatch) -> None:
    """A push, a payment and a pull at DEBUG log nothing secret (checked at session end)."""
    xero, customer = organisation(35)
    store = MemoryStore()
    engine = engine_for(xero, store, watch)
    pushed = engine.push(invoices_for(customer, 1)[0])
    xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    xero.clock.advance(60)

    updates = engine.pull()

    assert [Decimal("115.00")] == [u.amount_paid for u in updates]


class _FormRecorder(httpx.BaseTransport):
    """Passes requests to the fake, watching the codes, verifiers and tokens in every form
    sent to the identity endpoints and every token they issue."""

    def __init__(self, inner: httpx.BaseTransport, watch: SecretWatch) -> None:
        self._inner = TokenRecorder(inner, watch)
        self._watch = watch

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com":
            form = dict(parse_qsl(request.read().decode()))
            self._watch.secret(*(form.get(k) for k in ("code", "code_verifier", "token")))
            self._watch.secret(form.get("refresh_token"))
        response = self._inner.handle_request(request)
        if request.url.path == "/connect/token" and response.status_code == 200:
            self._watch.secret(json.loads(response.read()).get("id_token"))
        return response


def test_connect_connections_and_disconnect_print_no_secret(
    watch: SecretWatch, tmp_path: Any
) -> None:
    """The commands that handle codes, verifiers and tokens never print one, nor even try
    (nothing needed redacting), in text, JSON or verbose mode, on success and on failure."""
    xero, _ = organisation(36)
    watch.watch_fake(xero)
    xero.add_tenant("Second Ltd", connect=False)
    http = httpx.Client(transport=_FormRecorder(xero.transport, watch))
    env = {
        "BMS_XERO_CLIENT_ID": xero.client_id,
        "BMS_XERO_CLIENT_SECRET": xero.client_secret,
        "BMS_XERO_DB": str(tmp_path / "sync.db"),
        "BMS_XERO_REDIRECT_URI": "http://127.0.0.1:0/callback",
    }

    def browser(url: str) -> None:
        # The consent step through the fake, then the redirect to the real loopback listener.
        def go() -> None:
            location = http.get(url).headers["location"]
            watch.secret(dict(parse_qsl(urlsplit(location).query)).get("code"))
            # urllib, not httpx: httpx's own INFO log line would quote the code.
            with urllib.request.urlopen(location, timeout=10):  # noqa: S310 - loopback
                pass

        threading.Thread(target=go, daemon=True).start()

    def run(*argv: str, stdin: str = "") -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        status = main(
            list(argv),
            environ=env,
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
            clock=xero.clock,
            http_client=http,
            browser=browser,
        )
        text = out.getvalue() + err.getvalue()
        watch.saw(text)
        return status, text

    runs = [
        run("-v", "connect", "--scopes", "openid offline_access accounting.invoices"),
        run("--json", "-v", "connections", "--use", xero.tenant_id),
        run("-v", "pull"),  # InsufficientScope: payments were not asked for
        run(
            "--json",
            "-v",
            "connect",
            "--paste",
            "--no-browser",
            stdin="?code=A1B2C3D4E5F6G7H8&state=x\n",
        ),
        run("-v", "disconnect"),
        run("--json", "-v", "disconnect", "--all"),
    ]
    watch.secret("A1B2C3D4E5F6G7H8")

    assert [0, 0, 3, 3, 0, 0] == [status for status, _ in runs]
    assert [] == [text[:80] for _, text in runs if "<redacted>" in text]
    assert 8 <= len(watch.secrets)
