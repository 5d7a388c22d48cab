"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs

from bms_xero.errors import ConfigurationError

__all__ = ["RetryPolicy"]


def _default_random() -> Callable[[], float]:
    # Jitter only spreads retries out; it needs no cryptographic randomness.
    return random.Random().random  # noqa: S311


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be a number >= 0, not {value!r}"
        )


def _attempts(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be a whole number >= 1 (1 means no retries), "
            f"not {value!r}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the client retries: exponential backoff with jitter, bounded in count and time.

    Reads are retried after connect errors, timeouts, resets, 5xx (including 503 "The
    Organisation is offline") and minute/concurrent 429s. Writes are retried only with the
    same ``Idempotency-Key``, and only while ``now - first send < key_lifetime``; past that,
    or when attempts run out, the client raises
    :class:`~bms_xero.errors.UncertainOutcome`. Waits go through the client's clock, so a
    ``FakeClock`` makes them instant and observable.

    Attributes:
        max_attempts: Tries per call, the first included (1 = never retry).
        base_delay: Seconds before the first retry (doubled each time).
        max_delay: Upper bound of one wait.
        jitter: Wait a random fraction of the backoff ("full jitter") so that many clients
            don't retry in step.
        key_lifetime: Seconds after a write's first send during which it may be resent with
            the same key; Xero keeps keys about 6 minutes, so the default 300 s stays clear
            of the edge.
        random: Returns floats in [0, 1) for the jitter; inject a seeded one in tests.
    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    base_delay: float = attrs.field(default=0.5, validator=_positive)
    max_delay: float = attrs.field(default=30.0, validator=_positive)
    jitter: bool = True
    key_lifetime: float = attrs.field(default=300.0, validator=_positive)
    random: Callable[[], float] = attrs.field(factory=_default_random, eq=False, repr=False)

    @classmethod
    def none(cls) -> RetryPolicy:
        """Never retry (each call is attempted once): for tests that count requests."""
        return cls(max_attempts=1, base_delay=0.0, max_delay=0.0, jitter=False)

    @classmethod
    def seeded(cls, seed: int, **kwargs: object) -> RetryPolicy:
        """A policy whose jitter is reproducible from ``seed``."""
        rng = random.Random(seed)  # noqa: S311 - jitter, not security
        return cls(random=rng.random, **kwargs)  # type: ignore[arg-type]

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, retry - 1))
        if not self.jitter:
            return float(ceiling)
        fraction = float(self.random())
        return float(ceiling * min(max(fraction, 0.0), 1.0))
