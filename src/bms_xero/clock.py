"""Time, injected: every part of bms_xero that needs the time or to wait takes a ``Clock``.

Tests pass a :class:`FakeClock` and advance it; nothing in the suite ever really sleeps.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """The time, and a way to wait."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for timeouts and rate windows)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock just moves forward)."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``, never negative."""
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that moves only when told to (or when something sleeps on it). Thread-safe.

    Args:
        start: The initial time (aware); defaults to 2026-01-05 09:00 UTC.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock(start=...) must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The fake current time."""
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        """Seconds since the clock started."""
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        """Move forward by ``seconds`` at once."""
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("a clock never goes back")
        with self._lock:
            self._elapsed += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()})"
