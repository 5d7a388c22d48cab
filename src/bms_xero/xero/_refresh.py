"""One token refresh per expiry, across processes: the decisions, as pure functions.

Xero rotates the refresh token on every use; two processes spending the same one get
``invalid_grant`` (at once under strict rotation, after the grace period otherwise). So when
the stored access token runs out, the processes sharing a token store agree on one refresher
through the store's :class:`~bms_xero.storage.RefreshLease`:

1. Each looks at the store. A usable token (someone refreshed already) is used.
2. Otherwise it claims the lease. The one that gets it refreshes, saves, then releases.
3. The others wait, polling the store with a short backoff (:func:`poll_delay`), until the
   token changes (they use it) or the lease is free or has run out (they claim it and, if
   the store still holds the old token, refresh themselves). A waiter gives up after
   ``limit`` seconds with a retryable error: waiting is bounded, never a hang.

A refresh Xero refuses with ``invalid_grant`` while another process refreshes outside the
lease (a token store without one) is not yet proof that the connection is gone: that process
may have spent the token and be about to save its answer. :func:`after_refused` waits a few
seconds for that save (``limit``), and only then says "reconnect". The lease holder needs no
such wait: a lease outlasts a token request, so nobody else is asking Xero.

:func:`waiting_step` and :func:`after_refused` hold every rule; the loop that carries them
out lives in :class:`~bms_xero.xero.RefreshTokenAuth`.
"""

from __future__ import annotations

import attrs

__all__ = [
    "FIRST_POLL",
    "MAX_POLL",
    "SAVE_WAIT",
    "Busy",
    "Reconnect",
    "Refresh",
    "Use",
    "Wait",
    "after_refused",
    "poll_delay",
    "waiting_step",
]

#: The first wait between looks at the store; each next one doubles, up to :data:`MAX_POLL`.
FIRST_POLL = 0.02
MAX_POLL = 0.5
#: How long a refused refresh (by a store without the lease) waits for another refresher's
#: save before saying "reconnect". That save follows the other refresher's answer by
#: milliseconds, unless it died.
SAVE_WAIT = 5.0


@attrs.frozen
class Use:
    """The stored access token is good: use it (someone else refreshed)."""


@attrs.frozen
class Refresh:
    """Ask Xero for new tokens now (this caller holds the lease, or the store changed)."""


@attrs.frozen
class Wait:
    """Look at the store again after ``seconds``.

    Attributes:
        seconds: How long to wait first.
    """

    seconds: float


@attrs.frozen
class Busy:
    """Another refresher has held the lease for the whole wait: fail this try, retryably."""


@attrs.frozen
class Reconnect:
    """Xero refused the refresh token and nobody saved newer tokens: the connection is gone."""


#: What a caller waiting for a token does next.
WaitingStep = Use | Refresh | Wait | Busy
#: What a caller whose refresh Xero refused does next.
RefusedStep = Use | Refresh | Wait | Reconnect


def poll_delay(polls: int, *, remaining: float) -> float:
    """Seconds before look number ``polls + 1`` at the store: 0.02, 0.04, ... up to 0.5,
    never past the ``remaining`` time (and never negative)."""
    delay = min(MAX_POLL, FIRST_POLL * 2.0 ** min(max(0, polls), 32))
    return max(0.0, min(delay, remaining))


def waiting_step(
    *, usable: bool, leased: bool, waited: float, limit: float, polls: int
) -> WaitingStep:
    """What a caller that needs a token does after one look at the store.

    Args:
        usable: The stored access token can be used (not expiring, not rejected by Xero).
        leased: The caller just got the refresh lease (only tried when not ``usable``).
        waited: Seconds since it started waiting.
        limit: The most it may wait.
        polls: How many times it has waited already.
    """
    if usable:
        return Use()
    if leased:
        return Refresh()
    if waited >= limit:
        return Busy()
    return Wait(poll_delay(polls, remaining=limit - waited))


def after_refused(
    *,
    used_version: int,
    latest_version: int | None,
    latest_usable: bool,
    waited: float,
    limit: float,
    polls: int,
) -> RefusedStep:
    """What a caller does after Xero answered ``invalid_grant`` to its refresh.

    Args:
        used_version: The stored version whose refresh token was refused.
        latest_version: The version in the store now (``None``: the tokens were deleted).
        latest_usable: Its access token can be used.
        waited: Seconds since the refusal.
        limit: How long to wait for another refresher's save (0 for the lease holder).
        polls: How many times it has waited already.
    """
    if latest_version is None:
        return Reconnect()  # disconnected: the tokens are gone from the store too
    if latest_version != used_version:
        # Someone saved since: the winner of a race (use its tokens), or a reconnect.
        return Use() if latest_usable else Refresh()
    if waited >= limit:
        return Reconnect()
    return Wait(poll_delay(polls, remaining=limit - waited))
