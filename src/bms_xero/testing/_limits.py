"""Xero's rate limits and Idempotency-Key store, on the fake's clock.

Windows are fixed: a window opens with the first call after the previous one closed, so each
tenant's minute and day reset at their own times, as Xero's do. Only calls the fake admits
count; a call refused with 429 is not charged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

import attrs

__all__ = [
    "IdempotencyStore",
    "Limits",
    "Refusal",
    "StoredReply",
    "TenantLimits",
    "Window",
    "fingerprint",
]


@attrs.frozen(kw_only=True)
class Limits:
    """The limits the fake enforces.

    Attributes:
        minute: Calls per tenant per minute.
        day: Calls per tenant per day.
        concurrent: Calls per tenant in flight at once.
        app_minute: Calls per minute across every tenant.
    """

    minute: int = 60
    day: int = 5000
    concurrent: int = 5
    app_minute: int = 10_000


@attrs.define
class Window:
    """A fixed window of ``length`` seconds allowing ``limit`` calls."""

    limit: int
    length: float
    start: float | None = None
    used: int = 0

    def _roll(self, now: float) -> None:
        if self.start is not None and now >= self.start + self.length:
            self.start, self.used = None, 0

    def remaining(self, now: float) -> int:
        """Calls left in the current window."""
        self._roll(now)
        return max(0, self.limit - self.used)

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window closes (at least 1)."""
        start = now if self.start is None else self.start
        return max(1, math.ceil(start + self.length - now))

    def full(self, now: float) -> bool:
        """Whether another call would break the limit."""
        return self.remaining(now) <= 0

    def take(self, now: float) -> None:
        """Count one call."""
        self._roll(now)
        if self.start is None:
            self.start = now
        self.used += 1


@attrs.frozen
class Refusal:
    """Why a call was refused with 429.

    Attributes:
        problem: ``X-Rate-Limit-Problem``: ``concurrent``, ``day``, ``minute`` or
            ``appminute``.
        retry_after: ``Retry-After`` seconds (``None`` for concurrent and app limits).
    """

    problem: str
    retry_after: int | None


@attrs.define
class TenantLimits:
    """One tenant's windows and in-flight count."""

    minute: Window
    day: Window
    concurrent: int
    in_flight: int = 0

    @classmethod
    def of(cls, limits: Limits) -> TenantLimits:
        """Fresh windows for the given limits."""
        return cls(Window(limits.minute, 60.0), Window(limits.day, 86_400.0), limits.concurrent)

    def admit(self, now: float, app: Window) -> Refusal | None:
        """Count the call and mark it in flight, or say why not."""
        if self.in_flight >= self.concurrent:
            return Refusal("concurrent", None)
        if self.day.full(now):
            return Refusal("day", self.day.retry_after(now))
        if self.minute.full(now):
            return Refusal("minute", self.minute.retry_after(now))
        if app.full(now):
            return Refusal("appminute", None)
        self.day.take(now)
        self.minute.take(now)
        app.take(now)
        self.in_flight += 1
        return None

    def done(self) -> None:
        """The call is no longer in flight."""
        self.in_flight = max(0, self.in_flight - 1)


def fingerprint(parts: Iterable[str | bytes]) -> str:
    """A digest identifying a request, to tell a replay from a different request."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@attrs.frozen(kw_only=True)
class StoredReply:
    """The first answer given to an idempotency key.

    Attributes:
        fingerprint: Digest of the request that used the key first.
        status: Its status code.
        headers: Its content headers (rate-limit headers are recomputed on replay).
        body: Its body.
        expires: Clock seconds (monotonic) when the key is forgotten.
    """

    fingerprint: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    expires: float


class IdempotencyStore:
    """Keys per app, each remembered for ``ttl`` seconds after first use."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._keys: dict[tuple[str, str], StoredReply] = {}

    def get(self, scope: str, key: str, now: float) -> StoredReply | None:
        """The stored reply for ``key``, unless it expired."""
        found = self._keys.get((scope, key))
        if found is not None and now >= found.expires:
            del self._keys[(scope, key)]
            return None
        return found

    def put(
        self,
        scope: str,
        key: str,
        now: float,
        *,
        fingerprint: str,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Remember the first reply to ``key``."""
        self._sweep(now)
        self._keys[(scope, key)] = StoredReply(
            fingerprint=fingerprint,
            status=status,
            headers=tuple(headers),
            body=body,
            expires=now + self.ttl,
        )

    def _sweep(self, now: float) -> None:
        # Keys were stored in time order with one TTL, so expired ones are at the front.
        while self._keys:
            first = next(iter(self._keys))
            if self._keys[first].expires > now:
                break
            del self._keys[first]
