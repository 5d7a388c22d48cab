"""FakeXero over real HTTP on loopback, for host apps in other processes or languages.

Real Xero uses two hosts; the server serves every path on one: ``/api.xro/2.0/...`` (the
accounting API), ``/connections`` and ``/connect/token``. Injected faults that mean "no
response" close the connection without answering.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from bms_xero.errors import ConfigurationError
from bms_xero.testing._api import FakeRequest
from bms_xero.testing._fake import FakeXero, NetworkFault

__all__ = ["FakeServer", "serve"]


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


def _handler(xero: FakeXero[Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeXero"
        sys_version = ""

        def _serve(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            call = FakeRequest(
                method=self.command.upper(),
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
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the fake's request log is the record."""

    return Handler


def serve(
    xero: FakeXero[Any], host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
) -> FakeServer:
    """Serve ``xero`` over HTTP in a background thread; returns the running server.

    Args:
        xero: The fake to serve.
        host: Address to listen on; loopback only unless ``allow_remote``.
        port: Port (0 picks a free one; read it from ``server.url``).
        allow_remote: Allow a non-loopback address. The fake has no real security: anyone who
            can reach it can read and change its data.
    """
    if not allow_remote and not _is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve FakeXero on {host!r}: it has no real security; use a loopback "
            "address such as 127.0.0.1, or pass allow_remote=True"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port must be 0-65535, not {port!r}")
    server_class = ThreadingHTTPServer
    if ":" in host:

        class _V6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        server_class = _V6
    httpd = server_class((host, port), _handler(xero))
    httpd.daemon_threads = True
    return FakeServer(xero, httpd)
