"""FakeXero over real HTTP on loopback: the same API on one host, for other processes."""

from __future__ import annotations

import http.client
import io
import json
import socket
import time
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bms_xero.errors import ConfigurationError
from bms_xero.mapping.wire import encode_json
from bms_xero.testing import FakeServer, FakeXero, serve
from bms_xero.testing._server import MAX_BODY
from tests.spec import validate
from tests.testing.helpers import check, invoice


@pytest.fixture(name="server")
def _server(xero: FakeXero) -> Iterator[FakeServer]:
    with serve(xero) as server:
        yield server


@pytest.fixture(name="http")
def _http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def _token(http: httpx.Client, server: FakeServer) -> str:
    xero = server.xero
    response = http.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(xero.client_id, xero.client_secret),
    )
    return str(response.json()["access_token"])


def _headers(http: httpx.Client, server: FakeServer) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {_token(http, server)}",
        "xero-tenant-id": server.xero.tenant_id,
        "Content-Type": "application/json",
    }


def test_serves_on_loopback(server: FakeServer) -> None:
    """The server listens on 127.0.0.1 on a port it picked."""
    assert server.url.startswith("http://127.0.0.1:")


def test_create_and_read_over_http(server: FakeServer, http: httpx.Client, contact_id: str) -> None:
    """A token, a PUT and a GET over loopback behave as through the transport."""
    headers = _headers(http, server)
    body = encode_json({"Invoices": [invoice(contact_id, "INV-0001")]})

    created = http.put(f"{server.api_url}/Invoices", content=body, headers=headers)
    read = http.get(f"{server.api_url}/Invoices", params={"page": "1"}, headers=headers)

    check(created)
    answer = check(read)
    assert (200, 200, ["INV-0001"], Decimal("115.00")) == (
        created.status_code,
        read.status_code,
        [i["InvoiceNumber"] for i in answer["Invoices"]],
        answer["Invoices"][0]["Total"],
    )


def test_rate_limit_headers_over_http(server: FakeServer, http: httpx.Client) -> None:
    """Responses over loopback carry Xero's rate-limit and correlation headers."""
    response = http.get(f"{server.api_url}/Organisation", headers=_headers(http, server))

    check(response)
    assert ("59", True) == (
        response.headers["X-MinLimit-Remaining"],
        "Xero-Correlation-Id" in response.headers,
    )


def test_the_server_header_is_the_fakes_name(server: FakeServer, http: httpx.Client) -> None:
    """Answers say ``Server: FakeXero``, without http.server's Python version."""
    assert "FakeXero" == http.get(f"{server.url}/nothing").headers["server"]


def test_connections_over_http(server: FakeServer, http: httpx.Client) -> None:
    """/connections is served on the same host."""
    response = http.get(
        server.connections_url, headers={"Authorization": f"Bearer {_token(http, server)}"}
    )

    assert [server.xero.tenant_id] == [c["tenantId"] for c in response.json()]


def test_faults_without_an_answer_drop_the_connection(
    server: FakeServer, http: httpx.Client
) -> None:
    """A timeout or reset fault closes the connection without answering."""
    headers = _headers(http, server)
    server.xero.inject("connection_reset")

    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.api_url}/Organisation", headers=headers)


def test_unknown_paths_are_404(server: FakeServer, http: httpx.Client) -> None:
    """Paths outside the three APIs get 404."""
    assert 404 == http.get(f"{server.url}/nothing").status_code


def test_non_loopback_is_refused(xero: FakeXero) -> None:
    """Serving on a non-loopback address needs allow_remote=True."""
    with pytest.raises(ConfigurationError, match="loopback"):
        serve(xero, host="192.0.2.1")


def test_refusal_names_the_argument_and_the_cli_flag(xero: FakeXero) -> None:
    """The refusal names both ways to allow it: serve()'s argument and the CLI's flag (the CLI
    prints the message as it is)."""
    with pytest.raises(ConfigurationError) as caught:
        serve(xero, host="192.0.2.1")

    message = str(caught.value)
    assert (True, True) == (
        "allow_remote=True" in message,
        "bms-xero fake-server --allow-remote" in message,
    )


@pytest.mark.parametrize("timeout", [0, -1, True, "5"])
def test_timeout_must_be_positive_seconds(xero: FakeXero, timeout: Any) -> None:
    """A timeout that is not a positive number of seconds is a configuration error."""
    with pytest.raises(ConfigurationError, match="timeout"):
        serve(xero, timeout=timeout)


def test_close_is_idempotent(xero: FakeXero) -> None:
    """close() may be called twice, and the port is released."""
    server = serve(xero)
    server.close()
    server.close()

    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as http:
        http.get(f"{server.url}/connections")


def test_the_listen_backlog_has_room_for_a_burst_of_connections(xero: FakeXero) -> None:
    """Ten clients with five connections each connect at once (one worker serving ten
    organisations). socketserver's default backlog of 5 made the kernel drop the extra
    connection requests, and each dropped client waited a second for its SYN to be sent
    again."""
    with serve(xero) as server:
        assert socket.SOMAXCONN == server._httpd.request_queue_size
        assert socket.SOMAXCONN >= 50


# --- the HTTP layer, byte by byte ---------------------------------------------------------------


class _Unclosable(io.BytesIO):
    def close(self) -> None:
        """http.client closes its file after each response; the next one is in it too."""


class _Received:
    """Bytes a server sent, readable by http.client as if from a socket."""

    def __init__(self, data: bytes) -> None:
        self.file = _Unclosable(data)
        self.size = len(data)

    def makefile(self, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self.file


def _answers(data: bytes, methods: list[str] | None = None) -> list[tuple[int, dict, bytes]]:
    """Each response in ``data``, as (status, lower-cased headers, body)."""
    received = _Received(data)
    out: list[tuple[int, dict, bytes]] = []
    methods = list(methods or [])
    while received.file.tell() < received.size:
        response = http.client.HTTPResponse(
            received,  # type: ignore[arg-type]
            method=methods.pop(0) if methods else "GET",
        )
        response.begin()
        headers = {k.lower(): v for k, v in response.getheaders()}
        out.append((response.status, headers, response.read()))
    return out


def _address(server: FakeServer) -> tuple[str, int]:
    url = urllib.parse.urlsplit(server.url)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


def _exchange(
    server: FakeServer, data: bytes, *, half_close: bool = False, wait: float = 5.0
) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it.

    Fails if the server neither answers nor closes within ``wait`` seconds.
    """
    with socket.create_connection(_address(server), timeout=wait) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while True:
            try:
                piece = sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"the server kept the connection open; it sent {bytes(received)!r}")
            if not piece:
                return bytes(received)
            received += piece


def _request(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: fake"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _chunked(*parts: bytes, trailers: str = "") -> bytes:
    framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    return framed + b"0\r\n" + trailers.encode() + b"\r\n"


def _error_message(body: bytes) -> str:
    """The Message of a JSON error body, after checking it has the shape of Xero's Error."""
    decoded = json.loads(body)
    validate(decoded, "Error")
    return str(decoded["Message"])


class TestChunkedBodies:
    def test_a_chunked_put_creates_the_invoice(
        self, server: FakeServer, http: httpx.Client, contact_id: str
    ) -> None:
        """A client that streams its body (Transfer-Encoding: chunked) is served like one that
        sends a Content-Length."""
        body = encode_json({"Invoices": [invoice(contact_id, "INV-0001")]})

        created = http.put(
            f"{server.api_url}/Invoices",
            content=iter([body[:20], body[20:]]),
            headers=_headers(http, server),
        )

        assert ("chunked", 200, ["INV-0001"]) == (
            created.request.headers["transfer-encoding"],
            created.status_code,
            [i["InvoiceNumber"] for i in server.xero.invoices()],
        )

    def test_trailers_are_read_and_the_connection_stays_usable(
        self, server: FakeServer, http: httpx.Client, contact_id: str
    ) -> None:
        """Chunk extensions and trailers are consumed, and the next request on the same
        connection is answered."""
        headers = _headers(http, server)
        body = encode_json({"Invoices": [invoice(contact_id, "INV-0001")]})
        framed = _chunked(body[:7], body[7:], trailers="X-Checksum: none\r\n").replace(
            b"\r\n", b";ext=1\r\n", 1
        )
        put = _request(
            "PUT", "/api.xro/2.0/Invoices", {**headers, "Transfer-Encoding": "chunked"}, framed
        )
        get = _request("GET", "/api.xro/2.0/Invoices", {**headers, "Connection": "close"})

        answers = _answers(_exchange(server, put + get))

        assert [200, 200] == [status for status, _, _ in answers]
        assert ["INV-0001"] == [i["InvoiceNumber"] for i in json.loads(answers[1][2])["Invoices"]]

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            (b"zz\r\n{}\r\n0\r\n\r\n", "chunk size"),
            (b"2\r\n{}XX0\r\n\r\n", "CRLF"),
            (b"-2\r\n{}\r\n0\r\n\r\n", "chunk size"),
            (b"2\n{}\n0\n\n", "last (zero) chunk"),
            (b"10000000000000000\r\n", "chunk size"),
        ],
    )
    def test_malformed_chunking_is_a_400_and_closes(
        self, server: FakeServer, body: bytes, problem: str
    ) -> None:
        """Broken chunk framing gets one JSON 400 naming the problem, then the connection is
        closed: nothing after it is read as a next request."""
        sent = _request("PUT", "/api.xro/2.0/Invoices", {"Transfer-Encoding": "chunked"}, body)
        smuggled = _request("GET", "/connections")

        answers = _answers(_exchange(server, sent + smuggled))

        assert [(400, "close")] == [(s, h["connection"]) for s, h, _ in answers]
        assert problem in _error_message(answers[0][2])
        assert [] == server.xero.requests

    def test_a_chunked_body_cut_short_is_a_400(self, server: FakeServer) -> None:
        """A chunked body whose sender stops before the zero chunk gets a 400."""
        sent = _request("PUT", "/api.xro/2.0/Invoices", {"Transfer-Encoding": "chunked"})

        answers = _answers(_exchange(server, sent + b"5\r\nab", half_close=True))

        assert [400] == [status for status, _, _ in answers]
        assert "ended after 2 of the 5 bytes" in _error_message(answers[0][2])

    def test_other_transfer_codings_are_501(self, server: FakeServer) -> None:
        """A transfer coding other than chunked is not understood: 501, and the connection
        is closed."""
        sent = _request("PUT", "/api.xro/2.0/Invoices", {"Transfer-Encoding": "gzip, chunked"})

        answers = _answers(_exchange(server, sent + b"0\r\n\r\n"))

        assert [(501, "close")] == [(s, h["connection"]) for s, h, _ in answers]
        assert "gzip" in _error_message(answers[0][2])

    def test_transfer_encoding_with_content_length_is_a_400(self, server: FakeServer) -> None:
        """Both framings at once (a request-smuggling shape) is refused."""
        sent = _request(
            "PUT",
            "/api.xro/2.0/Invoices",
            {"Transfer-Encoding": "chunked", "Content-Length": "5"},
            b"0\r\n\r\n",
        )

        answers = _answers(_exchange(server, sent))

        assert [400] == [status for status, _, _ in answers]
        assert "not both" in _error_message(answers[0][2])


class TestContentLength:
    @pytest.mark.parametrize(
        ("length", "status", "problem"),
        [
            ("abc", 400, "whole number"),
            ("-1", 400, "whole number"),
            ("1.5", 400, "whole number"),
            ("0x10", 400, "whole number"),
            ("5, 6", 400, "conflicting"),
            (str(MAX_BODY + 1), 413, "over the"),
            ("9" * 5000, 413, "over the"),
        ],
    )
    def test_a_bad_content_length_is_answered(
        self, server: FakeServer, length: str, status: int, problem: str
    ) -> None:
        """A Content-Length that is not a usable number of bytes gets a JSON error naming it,
        and the connection is closed."""
        sent = _request("PUT", "/api.xro/2.0/Invoices", {"Content-Length": length}, b"{}")

        answers = _answers(_exchange(server, sent))

        assert [(status, "close")] == [(s, h["connection"]) for s, h, _ in answers]
        message = _error_message(answers[0][2])
        assert "Content-Length" in message and problem in message

    def test_leading_zeros_are_still_a_length(self, server: FakeServer) -> None:
        """A Content-Length with leading zeros, however many, is the number it spells."""
        length = "0" * 30 + "2"
        sent = _request("PUT", "/nothing", {"Content-Length": length, "Connection": "close"})

        answers = _answers(_exchange(server, sent + b"{}"))

        assert [404] == [status for status, _, _ in answers]

    def test_a_body_shorter_than_announced_is_a_400_after_the_timeout(self, xero: FakeXero) -> None:
        """A client that announces more than it sends and then waits gets a 400 once the
        server's timeout passes; nothing hangs."""
        with serve(xero, timeout=0.3) as server:
            sent = _request("PUT", "/api.xro/2.0/Invoices", {"Content-Length": "100"}, b"x" * 10)
            started = time.monotonic()

            answers = _answers(_exchange(server, sent, wait=5))

        assert [400] == [status for status, _, _ in answers]
        assert "ended after 10 of the 100 bytes" in _error_message(answers[0][2])
        assert time.monotonic() - started < 4
        assert [] == xero.requests

    def test_a_body_cut_short_by_the_client_is_a_400_at_once(self, server: FakeServer) -> None:
        """A client that closes its side early gets the 400 without waiting for a timeout."""
        sent = _request("PUT", "/api.xro/2.0/Invoices", {"Content-Length": "100"}, b"x" * 10)

        answers = _answers(_exchange(server, sent, half_close=True, wait=2))

        assert [400] == [status for status, _, _ in answers]


class TestHead:
    def test_head_answers_like_get_without_a_body(
        self, server: FakeServer, http: httpx.Client
    ) -> None:
        """HEAD gets the GET's status and headers (Content-Length included) and no body."""
        headers = _headers(http, server)

        got = http.get(f"{server.api_url}/Organisation", headers=headers)
        head = http.head(f"{server.api_url}/Organisation", headers=headers)

        assert (200, str(len(got.content)), b"") == (
            head.status_code,
            head.headers["content-length"],
            head.content,
        )
        assert got.headers["content-type"] == head.headers["content-type"]

    def test_the_connection_after_a_head_is_still_in_step(
        self, server: FakeServer, http: httpx.Client
    ) -> None:
        """No body follows a HEAD answer, so the next answer on the connection reads cleanly."""
        headers = _headers(http, server)
        sent = _request("HEAD", "/api.xro/2.0/Organisation", headers) + _request(
            "GET", "/api.xro/2.0/Organisation", {**headers, "Connection": "close"}
        )

        answers = _answers(_exchange(server, sent), methods=["HEAD", "GET"])

        assert [(200, b""), 200] == [
            (answers[0][0], answers[0][2]),
            answers[1][0],
        ]
        assert answers[0][1]["content-length"] == str(len(answers[1][2]))


class TestServerErrors:
    @pytest.mark.parametrize(
        ("sent", "status"),
        [
            (_request("OPTIONS", "/connections"), 501),
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET /connections HTTP/9.x\r\n\r\n", 400),
            (b"GET /connections HTTP/2.0\r\n\r\n", 505),
            (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
            (_request("GET", "/connections", {"X-Big": "a" * 70_000}), 431),
        ],
    )
    def test_what_the_server_refuses_itself_is_json(
        self, server: FakeServer, sent: bytes, status: int
    ) -> None:
        """Statuses the HTTP layer writes itself carry a JSON error like the fake's, never an
        HTML page, and close the connection."""
        answers = _answers(_exchange(server, sent))

        assert [(status, "close")] == [(s, h["connection"]) for s, h, _ in answers]
        assert answers[0][1]["content-type"].startswith("application/json")
        assert _error_message(answers[0][2])

    def test_a_failure_inside_the_fake_is_a_json_500(self, server: FakeServer) -> None:
        """An exception raised while the fake answers is a JSON 500 naming it, not a dropped
        connection."""

        def broken() -> None:
            raise RuntimeError("the callback broke")

        server.xero.on_answer(broken, path="/connections")

        answers = _answers(_exchange(server, _request("GET", "/connections")))

        assert [500] == [status for status, _, _ in answers]
        assert "RuntimeError: the callback broke" in _error_message(answers[0][2])


class TestConnections:
    def test_keep_alive_serves_several_requests_on_one_connection(self, server: FakeServer) -> None:
        """Requests sent one after another on one connection are all answered, in order."""
        sent = (
            _request("GET", "/nothing")
            + _request("PUT", "/nothing", {"Content-Length": "2"}, b"{}")
            + _request("GET", "/connections", {"Connection": "close"})
        )

        answers = _answers(_exchange(server, sent))

        assert [404, 404, 401] == [status for status, _, _ in answers]

    def test_an_idle_connection_is_closed_after_the_timeout(self, xero: FakeXero) -> None:
        """A connection that sends nothing is closed once the timeout passes."""
        with serve(xero, timeout=0.2) as server:
            assert b"" == _exchange(server, b"", wait=5)

    def test_headers_that_never_end_do_not_hang(self, xero: FakeXero) -> None:
        """A request whose headers never finish is dropped after the timeout."""
        with serve(xero, timeout=0.2) as server:
            assert b"" == _exchange(server, b"GET /connections HTTP/1.1\r\nHost: x\r\n", wait=5)
