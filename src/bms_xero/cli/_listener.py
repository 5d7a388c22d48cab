"""The loopback listener ``bms-xero connect`` waits on for Xero's redirect.

It serves one path (the redirect URI's) on a loopback address, in background threads, and
hands each request's query to a judge: a redirect that belongs to the authorisation ends the
wait, one that does not (another state: a stale tab) is answered 400 and the wait goes on.
Every socket wait is bounded (a connection that says nothing is closed after a few seconds),
and :meth:`CallbackListener.wait` gives up after its timeout, so nothing hangs. Requests are
never logged: their queries carry the authorization code.
"""

from __future__ import annotations

import html
import ipaddress
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import attrs

from bms_xero.errors import AuthorizationFailed, ConfigurationError

__all__ = ["CallbackListener", "Verdict", "is_loopback_uri"]

#: Seconds one connection may stay silent before it is closed.
_SOCKET_TIMEOUT: Final = 5.0


@attrs.frozen
class Verdict:
    """What the judge made of one request to the redirect path.

    Attributes:
        done: Whether the wait is over (a code, or a failure that stops the authorisation).
        status: The HTTP status to answer the browser with.
        message: What the browser page says.
        error: The failure that ended the wait, if one did.
    """

    done: bool
    status: int
    message: str
    error: AuthorizationFailed | None = None


def _loopback_host(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_uri(uri: str) -> bool:
    """Whether a redirect URI can be served here: ``http://`` on a loopback host."""
    try:
        parts = urllib.parse.urlsplit(uri)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        return False
    return parts.scheme == "http" and _loopback_host(parts.hostname)


def _page(title: str, message: str) -> bytes:
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></body></html>\n"
    ).encode()


class CallbackListener:
    """Listens on the redirect URI's loopback address and port until the redirect comes.

    Args:
        redirect_uri: ``http://localhost:PORT/PATH`` (or ``127.0.0.1``, ``[::1]``; no port
            is 80); port 0 picks a free one, which :attr:`redirect_uri` then names (Xero
            itself accepts only the exact URI registered on the app).
        judge: Reads one redirect's query string.

    Raises:
        ConfigurationError: The URI is not on loopback, or its port can't be listened on.
    """

    def __init__(self, redirect_uri: str, judge: Callable[[str], Verdict]) -> None:
        if not is_loopback_uri(redirect_uri):
            raise ConfigurationError(
                "the redirect URI must be http:// on this machine (localhost, 127.0.0.1 or "
                "[::1]) to be listened for; use --paste for any other"
            )
        parts = urllib.parse.urlsplit(redirect_uri)
        host = parts.hostname or "localhost"
        bind = "127.0.0.1" if host == "localhost" else host
        wanted = 80 if parts.port is None else parts.port
        self._path = parts.path or "/"
        self._judge = judge
        self._done = threading.Event()
        self._verdict: Verdict | None = None
        self._query: str | None = None
        self._lock = threading.Lock()
        server_class = ThreadingHTTPServer
        if ":" in bind:

            class _V6(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = _V6
        try:
            self._httpd = server_class((bind, wanted), self._handler())
        except OSError as e:
            raise ConfigurationError(
                f"can't listen on {bind}:{wanted} for the redirect ({e.strerror}); "
                "stop whatever uses that port, or register and pass another --redirect-uri"
            ) from None
        self._httpd.daemon_threads = True
        self.redirect_uri = redirect_uri  # exactly as registered on the app
        if wanted == 0:
            port = self._httpd.server_address[1]
            netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self.redirect_uri = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "bms-xero"
            timeout = _SOCKET_TIMEOUT

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path != listener._path:
                    self._answer(404, "Not found", "This is not the page bms-xero waits on.")
                    return
                verdict = listener._take(url.query)
                title = "Connected" if verdict.done and verdict.error is None else "Not connected"
                self._answer(verdict.status, f"bms-xero: {title}", verdict.message)

            def _answer(self, status: int, title: str, message: str) -> None:
                body = _page(title, message)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def version_string(self) -> str:
                return self.server_version

            def log_message(self, format: str, *args: object) -> None:
                """Never: the request line carries the authorization code."""

        return Handler

    def _take(self, query: str) -> Verdict:
        with self._lock:
            if self._done.is_set():
                return Verdict(True, 409, "bms-xero already has its answer; close this tab.")
            verdict = self._judge(query)
            if verdict.done:
                self._verdict, self._query = verdict, query
                self._done.set()
            return verdict

    def wait(self, timeout: float) -> str:
        """The query of the redirect that ended the wait.

        Raises:
            AuthorizationFailed: The judge's failure, or ``reason="timeout"``.
        """
        if not self._done.wait(timeout):
            raise AuthorizationFailed("timeout")
        assert self._verdict is not None and self._query is not None
        if self._verdict.error is not None:
            raise self._verdict.error
        return self._query

    def close(self) -> None:
        """Stop listening and free the port (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CallbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CallbackListener({self.redirect_uri!r})"
