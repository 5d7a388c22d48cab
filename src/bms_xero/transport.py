"""The one place bms_xero does network I/O: a :class:`Transport` sends a :class:`Request`.

Everything above this layer (the Xero client, auth, rate limits, retries) builds plain
:class:`Request` values and reads plain :class:`Response` values, so it can be tested
without a network. :class:`HttpxTransport` is the default: it wraps an ``httpx.Client`` (or
an ``httpx2.Client``, httpx's successor) that the host owns, so proxies, TLS and connection
pooling stay under the host's control. httpx2 is optional: bms_xero never imports it.

A transport never retries on its own: retrying a create is only safe with the same
``Idempotency-Key`` inside Xero's key lifetime, and only the client knows that. When no
usable response arrives, a transport raises :class:`~bms_xero.errors.TransportError` whose
``sent`` field says whether the request may have reached Xero.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs
import httpx

from bms_xero.errors import ConfigurationError, TransportError

if TYPE_CHECKING:
    # Optional: only for annotations. Without httpx2 installed the names are Any.
    import httpx2  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "DEFAULT_TIMEOUT",
    "Headers",
    "HttpxTransport",
    "Request",
    "Response",
    "Transport",
]

#: Explicit defaults: fail fast when Xero can't be reached, allow slow answers to big batches.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)

# Header values that are secrets; their values never appear in a repr.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def _pairs(
    value: Headers | Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    if isinstance(value, Headers):
        return value.pairs
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), str(item)) for name, item in items)


@attrs.frozen(repr=False)
class Headers(Mapping[str, str]):
    """Immutable HTTP headers with case-insensitive lookup.

    Built from a mapping or from ``(name, value)`` pairs; a repeated header is joined with
    ``", "`` on lookup, as HTTP allows. The repr hides secret values (``Authorization``).

    Attributes:
        pairs: The headers in order, as sent or received.
    """

    pairs: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    def __getitem__(self, name: str) -> str:
        wanted = name.lower()
        found = [value for key, value in self.pairs if key.lower() == wanted]
        if not found:
            raise KeyError(name)
        return ", ".join(found)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for key, _ in self.pairs:
            if key.lower() not in seen:
                seen.add(key.lower())
                yield key

    def __len__(self) -> int:
        return len({key.lower() for key, _ in self.pairs})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k.lower() == name.lower() for k, _ in self.pairs)

    def with_header(self, name: str, value: str) -> Headers:
        """A copy with ``name`` set to ``value`` (replacing any previous value)."""
        kept = tuple((k, v) for k, v in self.pairs if k.lower() != name.lower())
        return Headers((*kept, (name, value)))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k!r}: {'<redacted>' if k.lower() in _SECRET_HEADERS else repr(v)}"
            for k, v in self.pairs
        )
        return f"Headers({{{shown}}})"


def _headers(value: Headers | Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
    return value if isinstance(value, Headers) else Headers(value)


@attrs.frozen(repr=False)
class Request:
    """An HTTP request, fully built (URL with query, every header, the body bytes).

    Attributes:
        method: ``GET``, ``PUT``, ``POST``, ...
        url: The absolute URL, query string included.
        headers: Every header to send.
        content: The body (empty for reads).
    """

    method: str
    url: str
    headers: Headers = attrs.field(factory=Headers, converter=_headers)
    content: bytes = b""

    @property
    def path(self) -> str:
        """The URL's path without host or query (what logs and errors name)."""
        return urlsplit(self.url).path

    def __repr__(self) -> str:
        # The body may hold a refresh token or an authorization code: show its size only.
        return (
            f"Request({self.method} {self.url}, headers={self.headers!r}, "
            f"content=<{len(self.content)} bytes>)"
        )


@attrs.frozen(repr=False)
class Response:
    """An HTTP response, read in full.

    Attributes:
        status: The HTTP status code.
        headers: The response headers.
        content: The body bytes.
    """

    status: int
    headers: Headers = attrs.field(factory=Headers, converter=_headers)
    content: bytes = b""

    def __repr__(self) -> str:
        # Token endpoint answers carry tokens: show the body's size only.
        size = len(self.content)
        return f"Response({self.status}, headers={self.headers!r}, content=<{size} bytes>)"


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns the whole response; never retries by itself."""

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        """Send ``request`` and read the response.

        Args:
            request: What to send.
            timeout: Seconds to wait for the answer; ``None`` uses the transport's default.

        Raises:
            TransportError: No usable response; ``sent`` is ``False`` only when the request
                certainly never left.
        """
        ...

    def close(self) -> None:
        """Release connections (when the transport owns them)."""
        ...


def _httpx_library(value: object, kind: str) -> ModuleType | None:
    """``httpx`` or ``httpx2``, whichever ``value`` is a ``kind`` (``"Client"``, ``"Request"``) of.

    ``None`` for anything else. httpx2 is looked up among the imported modules only: whoever
    holds an ``httpx2`` object has imported it, and bms_xero itself never does. (Also used by
    :class:`bms_xero.testing.FakeTransport`.)
    """
    for library in (httpx, sys.modules.get("httpx2")):
        if library is not None and isinstance(value, getattr(library, kind)):
            return library
    return None


@attrs.frozen
class _Failures:
    """One library's exceptions, sorted by what they say about the request."""

    not_sent: tuple[type[Exception], ...]  # nothing left: safe to repeat even a create
    timeout: type[Exception]
    invalid_url: type[Exception]
    any: type[Exception]

    @classmethod
    def of(cls, library: ModuleType) -> _Failures:
        return cls(
            not_sent=(
                library.ConnectError,
                library.ConnectTimeout,
                library.PoolTimeout,
                library.ProxyError,
                library.UnsupportedProtocol,
            ),
            timeout=library.TimeoutException,
            invalid_url=library.InvalidURL,
            any=library.HTTPError,
        )


def _seconds(timeout: Any) -> tuple[float | None, float | None, float | None, float | None]:
    # The 4-tuple form means the same to httpx and httpx2, whichever Timeout class it came from.
    return (timeout.connect, timeout.read, timeout.write, timeout.pool)


class HttpxTransport:
    """A :class:`Transport` over an ``httpx.Client`` (or ``httpx2.Client``) the host provides.

    The host keeps control of proxies, TLS, limits and event hooks. Redirects are never
    followed and no retries are configured here (``httpx.HTTPTransport(retries=0)`` is
    httpx's default; a host that set retries on its own transport should not). Either
    library's failures become the same :class:`~bms_xero.errors.TransportError`.

    Args:
        client: The httpx or httpx2 client to send with.
        timeout: Default timeouts (an ``httpx.Timeout`` or ``httpx2.Timeout``); ``None`` keeps
            the client's own configuration. A per-call ``timeout`` to :meth:`send` replaces the
            read and write timeouts only.
        owns_client: Whether :meth:`close` closes ``client`` (``True`` when bms_xero created it).
    """

    def __init__(
        self,
        client: httpx.Client | httpx2.Client,
        *,
        timeout: httpx.Timeout | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        owns_client: bool = False,
    ) -> None:
        library = _httpx_library(client, "Client")
        if library is None:
            raise ConfigurationError(
                f"HttpxTransport needs an httpx.Client or httpx2.Client, not "
                f"{type(client).__name__}; for an async client or another library, implement "
                "the Transport protocol"
            )
        self._client = client
        self._library = library
        self._failures = _Failures.of(library)
        self._timeout = None if timeout is None else _seconds(timeout)
        self._owns_client = owns_client

    @classmethod
    def default(cls) -> HttpxTransport:
        """A transport over a new ``httpx.Client`` with explicit timeouts and no retries."""
        client = httpx.Client(
            timeout=DEFAULT_TIMEOUT,
            follow_redirects=False,
            transport=httpx.HTTPTransport(retries=0),
        )
        return cls(client, owns_client=True)

    def _timeout_for(
        self, timeout: float | None
    ) -> tuple[float | None, float | None, float | None, float | None] | None:
        if timeout is None:
            return self._timeout
        connect, _, _, pool = self._timeout or _seconds(self._client.timeout)
        return (connect, timeout, timeout, pool)

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        """Send ``request`` through the httpx client (see :meth:`Transport.send`)."""
        chosen = self._timeout_for(timeout)
        failures = self._failures
        try:
            answer = self._client.request(
                request.method,
                request.url,
                headers=list(request.headers.pairs),
                content=request.content or None,
                follow_redirects=False,
                timeout=self._library.USE_CLIENT_DEFAULT if chosen is None else chosen,
            )
        except failures.not_sent as e:
            raise TransportError(
                f"could not connect to send {request.method} {request.path} "
                f"({type(e).__name__}); nothing was sent",
                sent=False,
            ) from e
        except failures.timeout as e:
            raise TransportError(
                f"no answer in time to {request.method} {request.path} ({type(e).__name__}); "
                "the request may have reached Xero",
                sent=True,
            ) from e
        except failures.invalid_url as e:
            raise ConfigurationError(f"{request.url!r} is not a usable URL: {e}") from e
        except failures.any as e:
            raise TransportError(
                f"the connection failed during {request.method} {request.path} "
                f"({type(e).__name__}); the request may have reached Xero",
                sent=True,
            ) from e
        return Response(answer.status_code, Headers(answer.headers.multi_items()), answer.content)

    def close(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"HttpxTransport({self._client!r})"
