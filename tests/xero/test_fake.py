"""XeroClient against FakeXero: the failure modes that hurt users of other Xero SDKs."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.errors import DailyLimitReached, UncertainOutcome
from bms_xero.mapping import invoice_payload
from bms_xero.storage._tokens import MemoryTokenStore, SQLiteTokenStore, TokenStore
from bms_xero.testing import FakeXero
from bms_xero.transport import HttpxTransport
from bms_xero.xero import RefreshTokenAuth, RetryPolicy, XeroClient, exchange_code

TAX_MAP = {"GST15": "OUTPUT2"}


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    return xero


@pytest.fixture(name="contact_id")
def _contact_id(xero: FakeXero) -> str:
    return xero.add_contact(name="Acme Ltd", contact_number="C-1")


def _payload(contact_id: str, number: str = "INV-0001") -> dict:
    invoice = Invoice(
        id=f"I-{number}",
        number=number,
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("50.00"),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    )
    return invoice_payload(invoice, TAX_MAP)


def _requests(xero: FakeXero, method: str, path: str) -> list:
    return [r for r in xero.requests if r.method == method and r.path == path]


class TestCalls:
    def test_the_main_calls_work_end_to_end(self, xero, contact_id):
        """Create, read back, pay, pull payments and reference data through the real client."""
        client = xero.client()

        (created,) = client.create_invoices([_payload(contact_id)], idempotency_key="k-1")
        assert created.ok and created.invoice is not None
        invoice_id = created.invoice.invoice_id
        assert invoice_id is not None
        xero.pay(invoice_id, amount=Decimal("115.00"))

        fetched = client.get_invoice(invoice_id)
        by_number = client.get_invoices_by_number(["INV-0001", "INV-404"])
        payments = list(client.iter_payments())
        accounts = client.get_accounts()
        rates = client.get_tax_rates()
        organisation = client.get_organisation()
        contact = client.find_contact_by_number("C-1")
        tenants = [c.tenant_id for c in client.connections()]

        assert (Decimal("115.00"), Decimal("115.00"), "PAID") == (
            fetched.total,
            fetched.amount_paid,
            fetched.status,
        )
        assert [invoice_id] == [i.invoice_id for i in by_number]
        assert [Decimal("115.00")] == [p.amount for p in payments]
        assert ("200", "OUTPUT2") == (
            accounts.revenue_account("200").code,
            rates.revenue_rate("OUTPUT2", tax_code="GST15").tax_type,
        )
        assert (organisation.short_code is not None, contact_id, [xero.tenant_id]) == (
            True,
            contact.contact_id if contact else None,
            tenants,
        )

    def test_one_bad_invoice_does_not_fail_the_batch(self, xero, contact_id):
        """A batch with an unknown account code creates the good invoice and reports the bad."""
        bad = _payload(contact_id, "INV-0002")
        bad["LineItems"][0]["AccountCode"] = "999"

        good, failed = xero.client().create_invoices(
            [_payload(contact_id, "INV-0001"), bad], idempotency_key="batch"
        )

        assert (True, False, 1) == (good.ok, failed.ok, len(xero.invoices()))
        assert failed.errors and all(m.element_index == 1 for m in failed.errors)
        assert any("999" in m.message for m in failed.errors)

    def test_modified_since_pages_lazily(self, xero, contact_id):
        """iter_invoices with modified_since returns only later changes, a page at a time."""
        client = xero.client()
        client.create_invoices(
            [_payload(contact_id, f"INV-{n}") for n in range(3)], idempotency_key="a"
        )
        xero.clock.advance(5)
        since = xero.clock.now()
        xero.clock.advance(5)
        client.create_invoices(
            [_payload(contact_id, f"INV-{n}") for n in range(3, 8)], idempotency_key="b"
        )
        xero.clear_requests()

        invoices = client.iter_invoices(modified_since=since, page_size=2)
        first = next(invoices)
        after_first = len(_requests(xero, "GET", "/Invoices"))
        rest = list(invoices)

        assert (1, 5, 3) == (
            after_first,
            1 + len(rest),
            len(_requests(xero, "GET", "/Invoices")),
        )
        assert "INV-3" == first.invoice_number


class TestIdempotentWrites:
    def test_timeout_after_commit_then_retry_returns_the_original(self, xero, contact_id):
        """A create whose answer is lost is resent with the same key and returns the original
        invoice; Xero holds exactly one."""
        xero.inject("timeout_after_commit", method="PUT", path="/Invoices")

        (result,) = xero.client().create_invoices([_payload(contact_id)], idempotency_key="k-7")

        puts = _requests(xero, "PUT", "/Invoices")
        assert 1 == len(xero.invoices())
        assert result.invoice is not None
        assert xero.invoices()[0]["InvoiceID"] == result.invoice.invoice_id
        assert (["k-7", "k-7"], [False, True]) == (
            [r.idempotency_key for r in puts],
            [r.replayed for r in puts],
        )

    def test_after_the_key_expired_the_outcome_is_uncertain(self, xero, contact_id):
        """A create that took longer than the key's life is not resent: UncertainOutcome, and
        the lookup by number finds the one invoice Xero made."""
        xero.inject("slow", method="PUT", path="/Invoices", seconds=400)
        client = xero.client()

        with pytest.raises(UncertainOutcome) as caught:
            client.create_invoices([_payload(contact_id)], idempotency_key="k-8")

        found = client.get_invoices_by_number(["INV-0001"])
        assert ("k-8", 1, 1) == (
            caught.value.idempotency_key,
            len(_requests(xero, "PUT", "/Invoices")),
            len(found),
        )

    def test_500_then_retry_creates_once(self, xero, contact_id):
        """A 500 before commit is retried with the same key and creates one invoice."""
        xero.inject("http_500", method="PUT", path="/Invoices")

        (result,) = xero.client().create_invoices([_payload(contact_id)], idempotency_key="k-9")

        assert (True, 1, 2) == (
            result.ok,
            len(xero.invoices()),
            len(_requests(xero, "PUT", "/Invoices")),
        )

    def test_reads_survive_an_offline_organisation(self, xero):
        """A 503 'offline' and a reset connection on a read are retried until it works."""
        xero.inject("offline_503", method="GET", path="/Organisation")
        xero.inject("connection_reset", method="GET", path="/Organisation")

        organisation = xero.client().get_organisation()

        assert (organisation.name, 3) == (
            xero.client().get_organisation().name,
            len(_requests(xero, "GET", "/Organisation")) - 1,
        )


class TestRateLimits:
    def test_minute_429_waits_retry_after_and_retries(self, xero):
        """When another process has spent the minute, the client's first call gets a 429,
        waits Retry-After on the clock and goes through; Xero answered 429 once."""
        other_process = xero.client()
        for _ in range(60):
            other_process.get_organisation()
        start = xero.clock.monotonic()

        xero.client().get_organisation()

        refused = [r for r in xero.requests if r.status == 429]
        assert (1, "minute") == (len(refused), refused[0].response_headers["x-rate-limit-problem"])
        assert 0 < xero.clock.monotonic() - start <= 60

    def test_the_client_paces_itself_before_a_429(self, xero):
        """With default limits the client waits for the window instead of provoking a 429."""
        client = xero.client()

        for _ in range(125):
            client.get_organisation()

        assert (0, True) == (
            sum(1 for r in xero.requests if r.status == 429),
            xero.clock.monotonic() >= 120,
        )

    def test_day_429_raises_without_sleeping_and_parks(self):
        """At the day limit the client raises DailyLimitReached with the reset time, never
        sleeps, and sends nothing more until then."""
        xero = FakeXero(seed=2, day_limit=3)
        client = xero.client()
        for _ in range(3):
            client.get_organisation()
        before = xero.clock.now()

        with pytest.raises(DailyLimitReached) as caught:
            client.get_organisation()
        with pytest.raises(DailyLimitReached):
            client.get_accounts()
        sent = len(xero.requests)
        assert (before, sent) == (xero.clock.now(), len(xero.requests))
        assert before < caught.value.resets_at <= before + timedelta(days=1)

        xero.clock.advance((caught.value.resets_at - before).total_seconds())
        client.get_organisation()
        assert 1 == sum(1 for r in xero.requests if r.status == 429)


class TestTokenRotation:
    def _connect(self, xero: FakeXero, store: TokenStore) -> None:
        code = xero.authorize()
        exchange_code(
            HttpxTransport(httpx.Client(transport=xero.transport)),
            client_id=xero.client_id,
            client_secret=xero.client_secret,
            code=code,
            redirect_uri="https://bms.example/xero/callback",
            clock=xero.clock,
            store=store,
            connection_id="conn-1",
        )

    def _token_posts(self, xero: FakeXero) -> int:
        return len(_requests(xero, "POST", "/connect/token"))

    def test_two_threads_refreshing_at_once_refresh_once(self):
        """Two threads that find the token expired at once cause one refresh, both succeed,
        and the rotated token keeps working after the old one's grace period."""
        xero = FakeXero(seed=3, refresh_grace=60)
        store = MemoryTokenStore()
        self._connect(xero, store)
        entered, release = threading.Event(), threading.Event()

        def hold_first_refresh(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/connect/token" and not entered.is_set():
                entered.set()
                release.wait(timeout=10)
            return xero.transport.handle_request(request)

        http = httpx.Client(transport=httpx.MockTransport(hold_first_refresh))
        client = XeroClient.from_token_store(
            xero.client_id,
            xero.client_secret,
            store,
            connection_id="conn-1",
            tenant_id=xero.tenant_id,
            http_client=http,
            clock=xero.clock,
        )
        xero.clock.advance(31 * 60)
        before = self._token_posts(xero)
        errors: list[BaseException] = []

        def call() -> None:
            try:
                client.get_organisation()
            except BaseException as e:
                errors.append(e)

        first = threading.Thread(target=call)
        first.start()
        assert entered.wait(timeout=10)
        second = threading.Thread(target=call)
        second.start()
        release.set()
        first.join(timeout=10)
        second.join(timeout=10)
        xero.clock.advance(31 * 60)
        client.get_organisation()

        assert ([], 2) == (errors, self._token_posts(xero) - before)
        assert 3 == store.load("conn-1").version  # type: ignore[union-attr]

    def test_two_processes_racing_keep_a_valid_refresh_token(self, tmp_path: Path):
        """Two processes sharing a SQLite token store refresh at once: the loser of the
        compare-and-swap uses the winner's tokens, and later refreshes still work."""
        xero = FakeXero(seed=4, refresh_grace=60)
        path = tmp_path / "tokens.db"
        with SQLiteTokenStore(path) as one, SQLiteTokenStore(path) as two:
            self._connect(xero, one)
            transport = HttpxTransport(httpx.Client(transport=xero.transport))
            other = RefreshTokenAuth(
                xero.client_id, xero.client_secret, two, connection_id="conn-1"
            )

            def other_process_refreshes_meanwhile(request: httpx.Request) -> httpx.Response:
                if request.url.path == "/connect/token" and not raced:
                    raced.append(other.access_token(transport, xero.clock))
                return xero.transport.handle_request(request)

            raced: list[str] = []
            client = XeroClient.from_token_store(
                xero.client_id,
                xero.client_secret,
                one,
                connection_id="conn-1",
                tenant_id=xero.tenant_id,
                http_client=httpx.Client(
                    transport=httpx.MockTransport(other_process_refreshes_meanwhile)
                ),
                clock=xero.clock,
                retry=RetryPolicy.none(),
            )
            xero.clock.advance(31 * 60)

            client.get_organisation()
            stored = one.load("conn-1")
            xero.clock.advance(31 * 60)
            client.get_organisation()

        assert stored is not None
        assert (raced[0], 2) == (stored.token.access_token, stored.version)
