"""XeroClient against a scripted Xero: retries, uncertain writes, auth, paging, rate limits."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bms_xero.clock import FakeClock
from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    DailyLimitReached,
    InvalidRequest,
    NotFound,
    RateLimited,
    TransportError,
    UncertainOutcome,
    UnexpectedResponse,
    XeroUnavailable,
    XeroValidationError,
)
from bms_xero.storage._tokens import MemoryTokenStore, TokenSet
from bms_xero.transport import HttpxTransport
from bms_xero.xero import RateLimits, RefreshTokenAuth, RetryPolicy, XeroClient

from ._support import CLIENT_SECRET, TENANT, ScriptedXero, answer, invoice_json, make_client


def _invoices(*invoices, page: int | None = None, page_count: int | None = None) -> dict:
    body: dict = {"Invoices": list(invoices)}
    if page is not None:
        body["pagination"] = {"page": page, "pageSize": 2, "pageCount": page_count}
    return body


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    return FakeClock()


class TestReads:
    def test_reads_are_retried_after_5xx_and_timeouts(self, clock):
        """A read survives a 503, a 500 and a timeout, waiting on the clock between tries."""
        script = ScriptedXero(
            answer(503, text="The Organisation is offline"),
            answer(500, {"Type": "UnknownErrorException"}),
            _timeout,
            answer(200, _invoices(invoice_json("A", "id-a"))),
        )
        client = make_client(script, clock=clock)

        invoice = client.get_invoice("id-a")

        assert ("id-a", 4) == (invoice.invoice_id, len(script.requests))
        assert clock.monotonic() > 0

    def test_reads_give_up_after_max_attempts(self, clock):
        """When every try fails, the last typed error is raised."""
        script = ScriptedXero(*[answer(503, text="The Organisation is offline")] * 2)
        client = make_client(script, clock=clock, retry=RetryPolicy(max_attempts=2))

        with pytest.raises(XeroUnavailable):
            client.get_organisation()
        assert 2 == len(script.requests)

    def test_no_retries_when_switched_off(self, clock):
        """RetryPolicy.none() sends once and raises the transport error."""
        script = ScriptedXero(_timeout)
        client = make_client(script, clock=clock, retry=RetryPolicy.none())

        with pytest.raises(TransportError):
            client.get_accounts()
        assert (1, 0.0) == (len(script.requests), clock.monotonic())

    def test_unreadable_body_is_unexpected_response(self):
        """A 200 with an HTML body is an UnexpectedResponse, not a JSON error."""
        client = make_client(ScriptedXero(answer(200, text="<html>maintenance</html>")))

        with pytest.raises(UnexpectedResponse):
            client.get_tax_rates()

    def test_404_is_not_retried(self):
        """A 404 is raised at once as NotFound."""
        script = ScriptedXero(answer(404, text="The resource you're looking for cannot be found"))

        with pytest.raises(NotFound):
            make_client(script).get_invoice("missing")
        assert 1 == len(script.requests)

    def test_empty_invoice_list_is_not_found(self):
        """An invoice read that returns no invoice is NotFound."""
        with pytest.raises(NotFound):
            make_client(ScriptedXero(answer(200, _invoices()))).get_invoice("x")

    def test_invoices_are_fetched_lazily_page_by_page(self):
        """iter_invoices asks for the next page only when the previous one is used up."""
        script = ScriptedXero(
            answer(
                200, _invoices(invoice_json("A", "1"), invoice_json("B", "2"), page=1, page_count=2)
            ),
            answer(200, _invoices(invoice_json("C", "3"), page=2, page_count=2)),
        )
        invoices = make_client(script).iter_invoices(statuses=["AUTHORISED"], page_size=2)

        first = next(invoices)
        requests_after_first = len(script.requests)
        rest = [i.invoice_number for i in invoices]

        assert ("A", 1, ["B", "C"], 2) == (
            first.invoice_number,
            requests_after_first,
            rest,
            len(script.requests),
        )
        assert ["1", "2"] == [r.url.params["page"] for r in script.requests]

    def test_paging_without_pagination_stops_on_a_short_page(self):
        """Without a pagination block, a page shorter than page_size is the last."""
        script = ScriptedXero(
            answer(200, _invoices(invoice_json("A", "1"), invoice_json("B", "2"))),
            answer(200, _invoices(invoice_json("C", "3"))),
        )

        numbers = [i.invoice_number for i in make_client(script).iter_invoices(page_size=2)]

        assert (["A", "B", "C"], 2) == (numbers, len(script.requests))

    def test_bad_arguments_fail_before_iteration(self):
        """iter_invoices checks its arguments when called, before any request."""
        script = ScriptedXero()

        with pytest.raises(InvalidRequest):
            make_client(script).iter_invoices(page_size=5000)
        assert [] == script.requests

    def test_modified_since_is_sent(self):
        """iter_payments sends If-Modified-Since."""
        script = ScriptedXero(answer(200, {"Payments": []}))

        list(make_client(script).iter_payments(modified_since=datetime(2026, 1, 5, tzinfo=UTC)))

        assert "2026-01-05T00:00:00" == script.requests[0].headers["If-Modified-Since"]

    def test_lookup_by_number_chunks_and_handles_commas(self):
        """Numbers are looked up 40 per request; a number with a comma uses a where filter."""
        numbers = [f"N-{i}" for i in range(45)] + ["X,1"]
        script = ScriptedXero(
            answer(200, _invoices(invoice_json("N-0", "0"))),
            answer(200, _invoices()),
            answer(200, _invoices(invoice_json("X,1", "x"))),
        )

        found = make_client(script).get_invoices_by_number(numbers)

        assert ["N-0", "X,1"] == [i.invoice_number for i in found]
        assert [40, 5] == [
            len(r.url.params["InvoiceNumbers"].split(",")) for r in script.requests[:2]
        ]
        assert 'InvoiceNumber=="X,1"' == script.requests[2].url.params["where"]

    def test_find_contact_by_number(self):
        """find_contact_by_number returns the match, or None when Xero has none."""
        contact = {"ContactID": "c-1", "Name": "Acme", "ContactNumber": "C-1"}
        script = ScriptedXero(
            answer(200, {"Contacts": [contact]}), answer(404, text="The resource was not found")
        )
        client = make_client(script)

        assert ("c-1", None) == (
            client.find_contact_by_number("C-1").contact_id,  # type: ignore[union-attr]
            client.find_contact_by_number("C-2"),
        )


class TestWrites:
    def test_create_returns_results_per_element(self):
        """create_invoices returns one result per element, in request order."""
        script = ScriptedXero(
            answer(200, _invoices(invoice_json("A", "id-a"), invoice_json("B", "id-b")))
        )

        results = make_client(script).create_invoices(
            [{"InvoiceNumber": "A"}, {"InvoiceNumber": "B"}], idempotency_key="batch-1"
        )

        assert [(0, "id-a"), (1, "id-b")] == [(r.index, r.invoice_id) for r in results]
        assert ("PUT", "batch-1", "false") == (
            script.requests[0].method,
            script.requests[0].headers["Idempotency-Key"],
            script.requests[0].url.params["summarizeErrors"],
        )

    def test_a_write_is_retried_with_the_same_key(self, clock):
        """After a timeout, the write is resent with the same Idempotency-Key."""
        script = ScriptedXero(_timeout, answer(200, _invoices(invoice_json("A", "id-a"))))

        (result,) = make_client(script, clock=clock).create_invoices(
            [{"InvoiceNumber": "A"}], idempotency_key="key-1"
        )

        assert ("id-a", ["key-1", "key-1"]) == (
            result.invoice_id,
            [r.headers["Idempotency-Key"] for r in script.requests],
        )
        assert script.requests[0].content == script.requests[1].content

    def test_write_timeouts_become_uncertain_when_attempts_run_out(self, clock):
        """A write that timed out on every try raises UncertainOutcome with its key."""
        script = ScriptedXero(_timeout, _timeout)
        client = make_client(script, clock=clock, retry=RetryPolicy(max_attempts=2))

        with pytest.raises(UncertainOutcome) as caught:
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="key-9")

        assert ("key-9", "PUT", "/Invoices") == (
            caught.value.idempotency_key,
            caught.value.method,
            caught.value.path,
        )
        assert isinstance(caught.value.__cause__, TransportError)

    def test_write_5xx_is_uncertain_without_retries(self, clock):
        """A 500 on a write with retries off is uncertain (Xero may have saved it)."""
        script = ScriptedXero(answer(500, {"Type": "UnknownErrorException"}))
        client = make_client(script, clock=clock, retry=RetryPolicy.none())

        with pytest.raises(UncertainOutcome) as caught:
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")
        assert 500 == caught.value.status_code

    def test_no_resend_after_the_key_lifetime(self, clock):
        """Once the key's lifetime has passed, a maybe-applied write is not resent."""

        def slow_timeout(request: httpx.Request) -> httpx.Response:
            clock.advance(301)
            raise httpx.ReadTimeout("slow", request=request)

        script = ScriptedXero(slow_timeout)
        client = make_client(script, clock=clock, retry=RetryPolicy(max_attempts=5))

        with pytest.raises(UncertainOutcome):
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")
        assert 1 == len(script.requests)

    def test_a_429_on_a_resend_is_not_waited_out_past_the_key_lifetime(self, clock):
        """A 429 after a maybe-applied try is uncertain at once if its wait outlives the key."""

        def slow_timeout(request: httpx.Request) -> httpx.Response:
            clock.advance(280)
            raise httpx.ReadTimeout("slow", request=request)

        script = ScriptedXero(
            slow_timeout,
            answer(429, headers={"X-Rate-Limit-Problem": "minute", "Retry-After": "30"}),
        )
        retry = RetryPolicy(max_attempts=5, base_delay=1, jitter=False)
        client = make_client(script, clock=clock, retry=retry)

        with pytest.raises(UncertainOutcome) as caught:
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")
        assert (2, 429, 281.0) == (
            len(script.requests),
            caught.value.status_code,
            clock.monotonic(),
        )

    def test_connect_errors_are_retried_even_for_writes(self, clock):
        """A write that never left (connect error) is simply sent again."""
        script = ScriptedXero(_refused, answer(200, _invoices(invoice_json("A", "id-a"))))

        (result,) = make_client(
            script, clock=clock, retry=RetryPolicy(max_attempts=2)
        ).create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")

        assert "id-a" == result.invoice_id

    def test_connect_error_on_a_write_is_a_transport_error(self, clock):
        """A write that never left and can't be retried is a TransportError, not uncertain."""
        client = make_client(ScriptedXero(_refused), clock=clock, retry=RetryPolicy.none())

        with pytest.raises(TransportError) as caught:
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")
        assert False is caught.value.sent

    def test_an_unreadable_2xx_to_a_write_is_uncertain(self):
        """A write answered 200 with garbage is uncertain: it probably happened."""
        client = make_client(ScriptedXero(answer(200, text="<html>")))

        with pytest.raises(UncertainOutcome):
            client.create_invoices([{"InvoiceNumber": "A"}], idempotency_key="k")

    def test_a_400_is_the_validation_error_with_request_indexes(self):
        """A 400 to a batch is a XeroValidationError indexed like the request."""
        body = {
            "Type": "ValidationException",
            "Elements": [{"InvoiceNumber": "B", "ValidationErrors": [{"Message": "Bad."}]}],
        }
        client = make_client(ScriptedXero(answer(400, body)))

        with pytest.raises(XeroValidationError) as caught:
            client.create_invoices(
                [{"InvoiceNumber": "A"}, {"InvoiceNumber": "B"}], idempotency_key="k"
            )
        assert [(1, "B", "Bad.")] == [
            (m.element_index, m.invoice_number, m.message) for m in caught.value.messages
        ]

    def test_update_invoice(self):
        """update_invoice posts to the invoice and returns its result."""
        script = ScriptedXero(answer(200, _invoices(invoice_json("A", "id-a", Status="VOIDED"))))

        result = make_client(script).update_invoice(
            "id-a", {"InvoiceID": "id-a", "Status": "VOIDED"}, idempotency_key="k"
        )

        assert ("VOIDED", "POST", "/api.xro/2.0/Invoices/id-a") == (
            result.invoice.status if result.invoice else None,
            script.requests[0].method,
            script.requests[0].url.path,
        )

    def test_create_contacts(self):
        """create_contacts returns a result per contact."""
        script = ScriptedXero(answer(200, {"Contacts": [{"ContactID": "c-1", "Name": "Acme"}]}))

        (result,) = make_client(script).create_contacts([{"Name": "Acme"}], idempotency_key="k")

        assert (True, "c-1") == (result.ok, result.contact.contact_id if result.contact else None)


class TestAuthOnCalls:
    def test_401_refreshes_once_and_resends(self):
        """A 401 TokenExpired gets a new token and one resend."""
        expired = answer(401, {"Title": "Unauthorized", "Detail": "TokenExpired: expired"})
        script = ScriptedXero(expired, answer(200, {"Organisations": [{"Name": "Demo"}]}))

        org = make_client(script).get_organisation()

        assert ("Demo", 2) == (org.name, len(script.token_requests))
        assert ["Bearer ACCESS-TOKEN-1", "Bearer ACCESS-TOKEN-2"] == [
            r.headers["Authorization"] for r in script.requests
        ]

    def test_a_second_401_is_raised(self):
        """If the fresh token is refused too, AuthError is raised."""
        expired = answer(401, {"Title": "Unauthorized", "Detail": "TokenExpired: expired"})
        script = ScriptedXero(expired, expired)

        with pytest.raises(AuthError):
            make_client(script).get_organisation()

    def test_tokens_are_cached_until_near_expiry(self, clock):
        """A client-credentials token is reused until a minute before it expires."""
        script = ScriptedXero(*[answer(200, {"Organisations": [{"Name": "Demo"}]})] * 3)
        client = make_client(script, clock=clock)

        client.get_organisation()
        clock.advance(1700)
        client.get_organisation()
        clock.advance(60)
        client.get_organisation()

        assert 2 == len(script.token_requests)

    def test_a_refresh_token_client_needs_a_tenant(self):
        """A refresh-token client without a tenant id refuses tenant calls, naming the fix."""
        store = MemoryTokenStore()
        store.save(
            "conn",
            TokenSet(
                access_token="a",
                refresh_token="r",
                expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            ),
            expected_version=None,
        )
        client = XeroClient(
            HttpxTransport(httpx.Client(transport=httpx.MockTransport(ScriptedXero()))),
            auth=RefreshTokenAuth("id", CLIENT_SECRET, store, connection_id="conn"),
        )

        with pytest.raises(ConfigurationError, match="with_tenant"):
            client.get_organisation()


class TestRateLimits:
    def test_minute_429_waits_retry_after_then_retries(self, clock):
        """A minute 429 waits Retry-After on the clock, then the call goes through."""
        script = ScriptedXero(
            answer(429, headers={"X-Rate-Limit-Problem": "minute", "Retry-After": "20"}),
            answer(200, {"Organisations": [{"Name": "Demo"}]}),
        )

        make_client(script, clock=clock).get_organisation()

        assert (2, 20.0) == (len(script.requests), clock.monotonic())

    def test_retry_after_ends_a_reported_empty_budget(self, clock):
        """A 429 saying 0 left but resetting in 5 s waits 5 s, not a whole minute."""
        script = ScriptedXero(
            answer(
                429,
                headers={
                    "X-Rate-Limit-Problem": "minute",
                    "Retry-After": "5",
                    "X-MinLimit-Remaining": "0",
                },
            ),
            answer(200, {"Organisations": [{"Name": "Demo"}]}),
        )

        make_client(script, clock=clock).get_organisation()

        assert 5.0 == clock.monotonic()

    def test_a_long_retry_after_is_raised_not_slept(self, clock):
        """A Retry-After above the bound is raised as RateLimited, without sleeping."""
        script = ScriptedXero(
            answer(429, headers={"X-Rate-Limit-Problem": "minute", "Retry-After": "600"})
        )

        with pytest.raises(RateLimited):
            make_client(script, clock=clock).get_organisation()
        assert 0.0 == clock.monotonic()

    def test_day_429_raises_and_parks_the_tenant(self, clock):
        """A day 429 raises DailyLimitReached at once; later calls fail without being sent."""
        script = ScriptedXero(
            answer(429, headers={"X-Rate-Limit-Problem": "day", "Retry-After": "3600"}),
            answer(200, {"Organisations": [{"Name": "Demo"}]}),
        )
        client = make_client(script, clock=clock)

        with pytest.raises(DailyLimitReached) as first:
            client.get_organisation()
        with pytest.raises(DailyLimitReached) as second:
            client.get_accounts()
        clock.advance(3600)
        client.get_organisation()

        assert clock.now() == first.value.resets_at == second.value.resets_at
        assert 2 == len(script.requests)
        assert 3600.0 == clock.monotonic()

    def test_a_day_429_from_the_token_endpoint_is_raised_at_once(self, clock):
        """The day limit is never waited out, even when the token endpoint reports it."""
        script = ScriptedXero()

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.host == "identity.xero.com":
                script.token_requests.append(request)
                return httpx.Response(429, headers={"X-Rate-Limit-Problem": "day"})
            return script(request)

        with pytest.raises(DailyLimitReached):
            make_client(handler, clock=clock).get_organisation()
        assert (1, [], 0.0) == (len(script.token_requests), script.requests, clock.monotonic())

    def test_the_client_paces_itself_to_the_minute_budget(self, clock):
        """With the minute budget spent, the next call waits for the window instead of a 429."""
        script = ScriptedXero(*[answer(200, {"Organisations": [{"Name": "D"}]})] * 4)
        client = make_client(script, clock=clock, limits=RateLimits(per_minute=3))

        for _ in range(4):
            client.get_organisation()

        assert 60.0 == clock.monotonic()

    def test_headers_correct_the_budget(self, clock):
        """X-MinLimit-Remaining: 0 makes the next call wait for the window."""
        headers = {"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "4321"}
        script = ScriptedXero(
            answer(200, {"Organisations": [{"Name": "D"}]}, headers=headers),
            answer(200, {"Organisations": [{"Name": "D"}]}),
        )
        client = make_client(script, clock=clock)

        client.get_organisation()
        state = client.limit_state()
        client.get_organisation()

        assert (0, 4321, 60.0) == (state.minute_remaining, state.day_remaining, clock.monotonic())


class TestLogging:
    def test_one_debug_line_per_request_without_secrets(self, caplog):
        """Each attempt logs method, path, status, attempt and tenant, and no token."""
        script = ScriptedXero(answer(503, text="offline"), answer(200, {"Accounts": []}))
        caplog.set_level(logging.DEBUG, logger="bms_xero")

        make_client(script).get_accounts()

        lines = [r.getMessage() for r in caplog.records if r.name == "bms_xero.xero"]
        assert [
            f"GET /api.xro/2.0/Accounts -> 503 (attempt 1, tenant {TENANT})",
            f"GET /api.xro/2.0/Accounts -> 200 (attempt 2, tenant {TENANT})",
        ] == lines
        assert not any("ACCESS-TOKEN" in r.getMessage() for r in caplog.records)


def test_with_tenant_shares_auth_and_limiter():
    """with_tenant gives a client for another tenant on the same token and limiter."""
    script = ScriptedXero(answer(200, {"Accounts": []}), answer(200, {"Accounts": []}))
    client = make_client(script)
    other = client.with_tenant("tenant-2")

    client.get_accounts()
    other.get_accounts()

    assert (1, "tenant-2", True) == (
        len(script.token_requests),
        script.requests[1].headers["xero-tenant-id"],
        other.limiter is client.limiter,
    )


def test_custom_transport_errors_do_not_escape():
    """A custom transport raising its own exception becomes a TransportError."""

    class Broken:
        def send(self, request, *, timeout=None):
            raise OSError("socket went away")

        def close(self):
            pass

    client = XeroClient(
        Broken(),
        auth=_StaticAuth(),
        tenant_id=TENANT,
        clock=FakeClock(),
        retry=RetryPolicy.none(),
    )

    with pytest.raises(TransportError):
        client.get_accounts()


class _StaticAuth:
    def access_token(self, transport, clock):
        return "static"

    def invalidate(self, access_token):
        pass


def test_constructor_checks_its_arguments():
    """A wrong transport, auth or timeout is a ConfigurationError, not a later crash."""
    transport = HttpxTransport(httpx.Client(transport=httpx.MockTransport(ScriptedXero())))
    with pytest.raises(ConfigurationError):
        XeroClient(object(), auth=_StaticAuth())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        XeroClient(transport, auth=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        XeroClient(transport, auth=_StaticAuth(), timeout=-1)


def test_default_retry_waits_are_bounded(clock):
    """Backoff between retries never exceeds max_delay."""
    script = ScriptedXero(*[answer(500, {"Type": "X"})] * 6)
    client = make_client(
        script, clock=clock, retry=RetryPolicy(max_attempts=6, base_delay=1, max_delay=2)
    )

    with pytest.raises(XeroUnavailable):
        client.get_accounts()
    assert clock.monotonic() <= 5 * 2
    assert timedelta(0) <= clock.now() - datetime(2026, 1, 5, 9, tzinfo=UTC)
