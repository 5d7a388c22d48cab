"""Exponential backoff with a cap and jitter: the one computation behind every retry wait.

Two retry loops use it at very different scales: the client's
:class:`~bms_xero.xero.RetryPolicy` (half a second to half a minute, inside one call) and the
worker's :class:`~bms_xero.jobs.Backoff` (half a minute to an hour, between runs of a job).
They differ only in their numbers and in how much of each wait is random, so the formula lives
here once and each keeps its own attributes and defaults.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable

__all__ = ["Jitter", "backoff_delay", "default_random"]


class Jitter(enum.Enum):
    """How much of a wait is random, so that clients that failed together don't retry together.

    The names are the usual ones (see "Exponential Backoff And Jitter", AWS Architecture
    Blog, 2015).
    """

    #: The whole ceiling, every time (exact waits, for tests).
    NONE = "none"
    #: A random point in ``[0, ceiling]``: spreads retries the most; the client uses it,
    #: where waits are short and an early retry costs little.
    FULL = "full"
    #: A random point in ``[ceiling / 2, ceiling]``: never much shorter than the backoff; the
    #: worker uses it, where a too-early run spends a whole job attempt.
    EQUAL = "equal"


def default_random() -> Callable[[], float]:
    """A fresh, unseeded source of floats in [0, 1) for jitter."""
    # Jitter only spreads retries out; it needs no cryptographic randomness.
    return random.Random().random  # noqa: S311


def backoff_delay(
    attempt: int,
    *,
    base: float,
    factor: float,
    max_delay: float,
    jitter: Jitter,
    random: Callable[[], float],
) -> float:
    """Seconds to wait after try number ``attempt`` (1 for the first) failed.

    The ceiling is ``base * factor ** (attempt - 1)``, capped at ``max_delay``; ``jitter``
    says which part of it is random. ``random`` is called once when there is jitter and
    never without, so a seeded source gives the same waits for the same calls; a value
    outside [0, 1] is clamped.
    """
    ceiling = min(max_delay, base * factor ** max(0, attempt - 1))
    if jitter is Jitter.NONE:
        return float(ceiling)
    fraction = min(max(float(random()), 0.0), 1.0)
    if jitter is Jitter.FULL:
        return float(ceiling * fraction)
    return float(ceiling / 2 + ceiling / 2 * fraction)
