"""The transport layer: plain request/response values and the httpx adapter."""

from __future__ import annotations

import httpx
import pytest

from bms_xero.errors import ConfigurationError, TransportError
from bms_xero.transport import (
    DEFAULT_TIMEOUT,
    Headers,
    HttpxTransport,
    Request,
    Response,
    Transport,
)


def _transport(handler) -> HttpxTransport:
    return HttpxTransport(httpx.Client(transport=httpx.MockTransport(handler)))


class TestHeaders:
    def test_lookup_ignores_case(self):
        """A header set as ``Retry-After`` is found as ``retry-after``."""
        headers = Headers({"Retry-After": "7"})

        assert "7" == headers["retry-after"]
        assert "retry-AFTER" in headers

    def test_repeated_headers_are_joined(self):
        """A header sent twice reads as both values joined with a comma."""
        headers = Headers([("Warning", "a"), ("warning", "b")])

        assert "a, b" == headers["Warning"]
        assert 1 == len(headers)

    def test_with_header_replaces(self):
        """with_header replaces a header whatever the case it was set with."""
        headers = Headers({"accept": "text/html"}).with_header("Accept", "application/json")

        assert (("Accept", "application/json"),) == headers.pairs

    def test_repr_hides_authorization(self):
        """An Authorization value never appears in a repr."""
        headers = Headers({"Authorization": "Bearer SECRET-TOKEN", "Accept": "x"})

        assert "SECRET-TOKEN" not in repr(headers)
        assert "<redacted>" in repr(headers)


class TestValues:
    def test_request_repr_hides_body_and_token(self):
        """A request's repr shows neither its bearer token nor its body."""
        request = Request(
            "POST",
            "https://identity.xero.com/connect/token",
            {"Authorization": "Basic c2VjcmV0"},
            b"grant_type=refresh_token&refresh_token=REFRESH-SECRET",
        )

        text = repr(request)

        assert "REFRESH-SECRET" not in text
        assert "c2VjcmV0" not in text
        assert "/connect/token" == request.path

    def test_response_repr_hides_body(self):
        """A response's repr shows the body's size, not the body (it may hold tokens)."""
        response = Response(200, {}, b'{"access_token":"ACCESS-SECRET"}')

        assert "ACCESS-SECRET" not in repr(response)

    def test_httpx_transport_is_a_transport(self):
        """HttpxTransport satisfies the Transport protocol."""
        assert isinstance(_transport(lambda r: httpx.Response(200)), Transport)


class TestHttpxTransport:
    def test_round_trip(self):
        """Method, URL, headers and body go out as given; status, headers and body come back."""
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(201, headers={"X-MinLimit-Remaining": "59"}, content=b"{}")

        response = _transport(handler).send(
            Request("PUT", "https://api.xero.com/api.xro/2.0/Invoices?unitdp=4", {"A": "1"}, b"x")
        )

        assert ("PUT", "/api.xro/2.0/Invoices", b"4", "1", b"x") == (
            seen[0].method,
            seen[0].url.path,
            seen[0].url.params["unitdp"].encode(),
            seen[0].headers["a"],
            seen[0].content,
        )
        assert (201, "59", b"{}") == (
            response.status,
            response.headers["x-minlimit-remaining"],
            response.content,
        )

    def test_redirects_are_not_followed(self):
        """A redirect comes back as the 3xx it is; the transport never follows it."""
        transport = _transport(
            lambda r: httpx.Response(302, headers={"Location": "https://example.invalid/"})
        )

        assert 302 == transport.send(Request("GET", "https://api.xero.com/x")).status

    @pytest.mark.parametrize(
        ("exception", "sent"),
        [
            (httpx.ConnectError, False),
            (httpx.ConnectTimeout, False),
            (httpx.PoolTimeout, False),
            (httpx.ReadTimeout, True),
            (httpx.WriteTimeout, True),
            (httpx.ReadError, True),
            (httpx.RemoteProtocolError, True),
        ],
    )
    def test_failures_say_whether_the_request_may_have_been_sent(self, exception, sent):
        """Connect-phase failures are marked not sent; everything later may have been sent."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise exception("boom", request=request)

        with pytest.raises(TransportError) as caught:
            _transport(handler).send(Request("PUT", "https://api.xero.com/api.xro/2.0/Invoices"))

        assert sent == caught.value.sent

    def test_per_call_timeout_replaces_read_timeout_only(self):
        """A per-call timeout sets read and write; connect keeps the explicit default."""
        seen: list[dict[str, float]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request.extensions["timeout"])
            return httpx.Response(200)

        transport = _transport(handler)
        transport.send(Request("GET", "https://api.xero.com/x"))
        transport.send(Request("GET", "https://api.xero.com/x"), timeout=2.5)

        assert [
            {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 5.0},
            {"connect": 5.0, "read": 2.5, "write": 2.5, "pool": 5.0},
        ] == seen
        assert 5.0 == DEFAULT_TIMEOUT.connect

    def test_refuses_something_else(self):
        """Passing something other than an httpx.Client is a configuration error."""
        with pytest.raises(ConfigurationError):
            HttpxTransport(object())  # type: ignore[arg-type]

    def test_close_leaves_the_hosts_client_open(self):
        """Closing the transport does not close an httpx client the host passed in."""
        client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        HttpxTransport(client).close()

        assert False is client.is_closed

    def test_default_owns_and_closes_its_client(self):
        """The default transport creates its own client and closes it."""
        transport = HttpxTransport.default()
        transport.close()

        assert True is transport._client.is_closed


@pytest.fixture(name="httpx2")
def _httpx2():
    return pytest.importorskip("httpx2")


class TestHttpx2Client:
    def test_round_trip(self, httpx2):
        """An httpx2.Client is sent with like an httpx.Client: the request goes out as given
        and the answer comes back."""
        seen = []

        def handler(request):
            seen.append(request)
            return httpx2.Response(201, headers={"X-MinLimit-Remaining": "59"}, content=b"{}")

        transport = HttpxTransport(httpx2.Client(transport=httpx2.MockTransport(handler)))
        response = transport.send(
            Request("PUT", "https://api.xero.com/x?unitdp=4", {"A": "1"}, b"x")
        )

        assert ("PUT", "4", "1", b"x") == (
            seen[0].method,
            seen[0].url.params["unitdp"],
            seen[0].headers["a"],
            seen[0].content,
        )
        assert (201, "59", b"{}") == (
            response.status,
            response.headers["x-minlimit-remaining"],
            response.content,
        )

    @pytest.mark.parametrize(
        ("name", "sent"),
        [
            ("ConnectError", False),
            ("ConnectTimeout", False),
            ("PoolTimeout", False),
            ("ReadTimeout", True),
            ("WriteTimeout", True),
            ("ReadError", True),
            ("RemoteProtocolError", True),
        ],
    )
    def test_failures_map_as_with_httpx(self, httpx2, name, sent):
        """httpx2's exceptions become the same TransportError, sent or not, as httpx's."""

        def handler(request):
            raise getattr(httpx2, name)("boom", request=request)

        transport = HttpxTransport(httpx2.Client(transport=httpx2.MockTransport(handler)))

        with pytest.raises(TransportError) as caught:
            transport.send(Request("PUT", "https://api.xero.com/api.xro/2.0/Invoices"))

        assert (sent, name) == (caught.value.sent, type(caught.value.__cause__).__name__)

    def test_timeouts_reach_the_httpx2_client(self, httpx2):
        """The explicit default and a per-call timeout reach httpx2 as they reach httpx; an
        httpx2.Timeout may be the default."""
        seen = []

        def handler(request):
            seen.append(request.extensions["timeout"])
            return httpx2.Response(200)

        client = httpx2.Client(transport=httpx2.MockTransport(handler))
        HttpxTransport(client).send(Request("GET", "https://api.xero.com/x"))
        HttpxTransport(client).send(Request("GET", "https://api.xero.com/x"), timeout=2.5)
        HttpxTransport(client, timeout=httpx2.Timeout(7.0)).send(Request("GET", "https://a.b/"))

        assert [
            {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 5.0},
            {"connect": 5.0, "read": 2.5, "write": 2.5, "pool": 5.0},
            {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0},
        ] == seen

    def test_no_timeout_keeps_the_clients_own(self, httpx2):
        """timeout=None leaves the httpx2 client's configured timeouts in force."""
        seen = []

        def handler(request):
            seen.append(request.extensions["timeout"])
            return httpx2.Response(200)

        client = httpx2.Client(transport=httpx2.MockTransport(handler), timeout=3.0)
        HttpxTransport(client, timeout=None).send(Request("GET", "https://api.xero.com/x"))

        assert [{"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}] == seen

    def test_the_refusal_names_both_clients(self):
        """Something that is neither client is refused, naming both it could have been."""
        with pytest.raises(ConfigurationError, match=r"httpx\.Client or httpx2\.Client"):
            HttpxTransport(object())  # type: ignore[arg-type]


def test_bms_xero_never_needs_httpx2():
    """With httpx2 unimportable, bms_xero, its fake and its plugin import and work over httpx,
    and nothing imports httpx2."""
    import subprocess
    import sys

    script = """
import sys
sys.modules["httpx2"] = None  # any import of it now fails
import bms_xero, bms_xero.transport, bms_xero.testing, bms_xero.testing.plugin
from bms_xero.testing import FakeXero
assert FakeXero(seed=1).client().get_organisation().name
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert (0, "") == (done.returncode, done.stderr)
