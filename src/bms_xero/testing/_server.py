"""FakeXero over real HTTP on loopback, for host apps in other processes or languages.

Real Xero uses three hosts; the server serves every path on one: ``/api.xro/2.0/...`` (the
accounting API), ``/connections``, ``/connect/token``, ``/connect/revocation`` and the consent
step ``/identity/connect/authorize`` (a redirect back to the app, or a page for a browser).
Injected faults that mean "no response" close the connection without answering.

The HTTP/1.1 layer is ``http.server``, hardened for clients the fake does not know: bodies
framed by ``Content-Length`` or ``Transfer-Encoding: chunked``, HEAD answered like GET without
a body, and every answer the server makes itself (bad framing, an unsupported method, a
request line too long) JSON like the fake's, never an HTML error page. A request whose framing
is broken is answered and its connection closed, so nothing of it is read as a next request;
a silent connection is closed after ``timeout`` seconds, so nothing waits forever.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from bms_xero.errors import ConfigurationError
from bms_xero.testing._api import FakeRequest, Reply, error_reply
from bms_xero.testing._fake import FakeXero, NetworkFault

__all__ = ["FakeServer", "serve"]

#: The largest body the server reads. Far above Xero's 3.5 MB, so a client sending too much
#: gets the fake's own (Xero's) 413; only beyond this does the server refuse unread.
MAX_BODY = 32 * 1024 * 1024
#: The longest chunk-size or trailer line, and the most trailer lines, of a chunked body.
_MAX_LINE = 8192
_MAX_TRAILERS = 100
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 12  # a Content-Length with more significant digits is over MAX_BODY
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
# The Xero-style error Type of each status the server answers by itself.
_ERROR_TYPES = {
    400: "BadRequestException",
    413: "RequestEntityTooLargeException",
    414: "RequestUriTooLongException",
    431: "RequestHeaderFieldsTooLargeException",
    500: "UnknownErrorException",
    501: "NotImplementedException",
    505: "HttpVersionNotSupportedException",
}


class _Server(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with room for many connections arriving at once.

    Its listen backlog is 5 by default (``socketserver``'s ``request_queue_size``): ten
    clients opening their connections together overflow it, and the kernel drops the extra
    connection requests, which the clients' TCP stacks send again a second later. One worker
    serving ten organisations, five requests each, waited that second.
    """

    request_queue_size = socket.SOMAXCONN


class _BadFraming(Exception):
    """The request's body cannot be read as sent: answer ``status`` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FakeServer:
    """A running loopback server for a :class:`FakeXero`. Close it (or use ``with``).

    Attributes:
        xero: The fake it serves.
        url: Base URL, e.g. ``http://127.0.0.1:53817``.
    """

    def __init__(self, xero: FakeXero[Any], httpd: ThreadingHTTPServer) -> None:
        self.xero = xero
        self._httpd = httpd
        address, port = httpd.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else address
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def api_url(self) -> str:
        """The accounting API's base URL (in place of ``https://api.xero.com/api.xro/2.0``)."""
        return f"{self.url}/api.xro/2.0"

    @property
    def token_url(self) -> str:
        """The token endpoint (in place of ``https://identity.xero.com/connect/token``)."""
        return f"{self.url}/connect/token"

    @property
    def authorize_url(self) -> str:
        """The consent step (in place of ``https://login.xero.com/identity/connect/authorize``).

        .. versionadded:: Unreleased
        """
        return f"{self.url}/identity/connect/authorize"

    @property
    def revocation_url(self) -> str:
        """The revocation endpoint (``https://identity.xero.com/connect/revocation``).

        .. versionadded:: Unreleased
        """
        return f"{self.url}/connect/revocation"

    @property
    def connections_url(self) -> str:
        """The connections endpoint (in place of ``https://api.xero.com/connections``)."""
        return f"{self.url}/connections"

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FakeServer(url={self.url!r})"


def _handler(xero: FakeXero[Any], seconds: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # A request line too broken to name a version is answered with a status line and
        # headers anyway (http.server's default, HTTP/0.9, would send the body alone).
        default_request_version = "HTTP/1.0"
        server_version = "FakeXero"
        # Every socket read and write waits at most this long: an idle keep-alive connection
        # or a body that stops short is closed instead of holding a thread forever.
        timeout = seconds

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except ConnectionError:  # the client went away before it had the whole answer
                self.close_connection = True

        def _serve(self) -> None:
            try:
                body = self._body()
            except _BadFraming as e:
                self.send_error(e.status, e.message)
                return
            url = urllib.parse.urlsplit(self.path)
            call = FakeRequest(
                # HEAD is answered as the GET it mirrors (and logged and counted as one).
                method="GET" if self.command == "HEAD" else self.command.upper(),
                path=urllib.parse.unquote(url.path),
                query={k.casefold(): v for k, v in urllib.parse.parse_qsl(url.query, True)},
                raw_query=url.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                reply = xero.handle(call)
            except NetworkFault:
                self.close_connection = True
                return
            except Exception as e:
                self.send_error(500, f"FakeXero failed: {type(e).__name__}: {e}")
                raise  # and the traceback goes to stderr, via socketserver
            self._send(reply)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.status != 204:  # a 204 has no body, and no Content-Length (RFC 9110)
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD" and reply.status != 204:
                self.wfile.write(reply.body)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """Answer ``code`` with a JSON error body and close the connection.

            ``http.server`` calls this for what it refuses itself (a bad request line, an
            unsupported method, headers too long): the fake answers JSON, never HTML.
            """
            text = message or self.responses.get(code, ("Error",))[0]
            if explain:
                text = f"{text}: {explain}"
            reply = error_reply(
                code, text, number=code, error_type=_ERROR_TYPES.get(code, "HttpException")
            )
            self.close_connection = True
            self.send_response(code)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def _body(self) -> bytes:
            encodings = self.headers.get_all("Transfer-Encoding") or []
            lengths = self.headers.get_all("Content-Length") or []
            if encodings:
                if lengths:
                    raise _BadFraming(400, "send Content-Length or Transfer-Encoding, not both")
                codings = [c.strip().lower() for value in encodings for c in value.split(",")]
                if codings != ["chunked"]:
                    raise _BadFraming(
                        501,
                        f"Transfer-Encoding {', '.join(encodings)!r} is not supported; send "
                        "chunked, or a Content-Length",
                    )
                if self.request_version == "HTTP/1.0":
                    raise _BadFraming(400, "Transfer-Encoding is not allowed in HTTP/1.0")
                return self._chunked()
            values = {v.strip() for value in lengths for v in value.split(",")}
            if not values:
                return b""
            if len(values) > 1:
                raise _BadFraming(400, f"conflicting Content-Length values {sorted(values)}")
            (value,) = values
            if not _DIGITS.fullmatch(value):
                raise _BadFraming(
                    400, f"Content-Length must be a whole number of bytes, not {value!r}"
                )
            significant = value.lstrip("0") or "0"
            if len(significant) > _MAX_DIGITS or int(significant) > MAX_BODY:
                shown = value if len(value) <= 20 else f"{value[:20]}... ({len(value)} digits)"
                raise _BadFraming(
                    413, f"Content-Length {shown} is over the {MAX_BODY} bytes this server reads"
                )
            return self._exactly(int(significant), "Content-Length")

        def _exactly(self, length: int, framing: str) -> bytes:
            """``length`` bytes of body, or a 400 when the client stops sending before that."""
            got = bytearray()
            try:
                while len(got) < length:
                    piece = self.rfile.read1(min(length - len(got), 65536))
                    if not piece:
                        break
                    got += piece
            except TimeoutError:
                pass
            if len(got) < length:
                raise _BadFraming(
                    400,
                    f"the body ended after {len(got)} of the {length} bytes its {framing} "
                    "announced",
                )
            return bytes(got)

        def _line(self, what: str) -> bytes:
            try:
                line = self.rfile.readline(_MAX_LINE + 1)
            except TimeoutError:
                line = b""
            if len(line) > _MAX_LINE:
                raise _BadFraming(400, f"a chunked body's {what} line is over {_MAX_LINE} bytes")
            if not line.endswith(b"\r\n"):
                raise _BadFraming(400, "the chunked body ended before its last (zero) chunk")
            return line[:-2]

        def _chunked(self) -> bytes:
            body = bytearray()
            while True:
                line = self._line("chunk size")
                size_text = line.split(b";", 1)[0].strip()
                if not _HEX.fullmatch(size_text):
                    raise _BadFraming(400, f"bad chunk size line {line[:80]!r} in a chunked body")
                size = int(size_text, 16)
                if size == 0:
                    break
                if len(body) + size > MAX_BODY:
                    raise _BadFraming(
                        413, f"the chunked body is over the {MAX_BODY} bytes this server reads"
                    )
                body += self._exactly(size, "chunk size")
                if self._exactly(2, "chunk size") != b"\r\n":
                    raise _BadFraming(400, "a chunk's data must end with CRLF")
            for _ in range(_MAX_TRAILERS):  # trailers are read and dropped
                if not self._line("trailer"):
                    return bytes(body)
            raise _BadFraming(400, f"a chunked body may have at most {_MAX_TRAILERS} trailers")

        def version_string(self) -> str:
            """``Server: FakeXero`` (http.server would add a space and Python's version)."""
            return self.server_version

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the fake's request log is the record."""

    return Handler


def serve(
    xero: FakeXero[Any],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    timeout: float = 30.0,
) -> FakeServer:
    """Serve ``xero`` over HTTP in a background thread; returns the running server.

    Args:
        xero: The fake to serve.
        host: Address to listen on; loopback only unless ``allow_remote``.
        port: Port (0 picks a free one; read it from ``server.url``).
        allow_remote: Allow a non-loopback address. The fake has no real security: anyone who
            can reach it can read and change its data.
        timeout: Seconds the server waits on a silent connection: an idle keep-alive
            connection is then closed, and a request whose body stopped short is answered 400
            and closed.
    """
    if not allow_remote and not _is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve FakeXero on {host!r}: it has no real security; use a loopback "
            "address such as 127.0.0.1, or pass allow_remote=True to serve() (on the command "
            "line: bms-xero fake-server --allow-remote)"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port must be 0-65535, not {port!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    server_class: type[ThreadingHTTPServer] = _Server
    if ":" in host:

        class _V6(_Server):
            address_family = socket.AF_INET6

        server_class = _V6
    httpd = server_class((host, port), _handler(xero, float(timeout)))
    httpd.daemon_threads = True
    return FakeServer(xero, httpd)
