"""The single-flight refresh decisions, literal in, literal out (no store, no HTTP, no clock)."""

from __future__ import annotations

import pytest

from bms_xero.xero._refresh import (
    SAVE_WAIT,
    Busy,
    Reconnect,
    Refresh,
    Use,
    Wait,
    after_refused,
    poll_delay,
    waiting_step,
)


@pytest.mark.parametrize(
    ("polls", "remaining", "expected"),
    [
        (0, 10.0, 0.02),
        (1, 10.0, 0.04),
        (4, 10.0, 0.32),
        (5, 10.0, 0.5),  # capped
        (500, 10.0, 0.5),  # no overflow, however long it waited
        (3, 0.1, 0.1),  # never past the time left
        (0, -1.0, 0.0),  # never negative
    ],
)
def test_poll_delay(polls, remaining, expected):
    """Polls back off from 20 ms, doubling up to half a second, never past the time left."""
    assert expected == pytest.approx(poll_delay(polls, remaining=remaining))


@pytest.mark.parametrize(
    ("usable", "leased", "waited", "expected"),
    [
        (True, False, 0.0, Use()),  # someone refreshed: use it
        (True, False, 99.0, Use()),  # even after the limit
        (False, True, 0.0, Refresh()),  # we hold the lease
        (False, True, 99.0, Refresh()),  # got it just at the end
        (False, False, 0.0, Wait(0.02)),  # another holder: wait for its save
        (False, False, 59.99, Wait(0.01)),  # never past the limit
        (False, False, 60.0, Busy()),  # waited long enough: give up, retryably
    ],
)
def test_waiting_step(usable, leased, waited, expected):
    """A usable token is used, the lease means refresh, else wait until the limit."""
    step = waiting_step(usable=usable, leased=leased, waited=waited, limit=60.0, polls=0)

    assert expected == (Wait(round(step.seconds, 6)) if isinstance(step, Wait) else step)


@pytest.mark.parametrize(
    ("latest_version", "latest_usable", "waited", "expected"),
    [
        (8, True, 0.0, Use()),  # the winner of the race saved: use its tokens
        (8, False, 0.0, Refresh()),  # newer but expiring already: refresh with it
        (None, False, 0.0, Reconnect()),  # the tokens were deleted: disconnected
        (7, True, 0.0, Wait(0.02)),  # nothing saved yet: wait for the winner's save
        (7, False, SAVE_WAIT, Reconnect()),  # nobody saved: the connection is gone
    ],
)
def test_after_refused(latest_version, latest_usable, waited, expected):
    """After invalid_grant for version 7: use a newer save, wait a little for one, else
    reconnect."""
    assert expected == after_refused(
        used_version=7,
        latest_version=latest_version,
        latest_usable=latest_usable,
        waited=waited,
        limit=SAVE_WAIT,
        polls=0,
    )


def test_the_lease_holder_does_not_wait_after_a_refusal():
    """With no time to wait (the lease holder's case), an unchanged store means reconnect at
    once, and a newer save is still used."""
    assert (Reconnect(), Use()) == (
        after_refused(
            used_version=7, latest_version=7, latest_usable=False, waited=0.0, limit=0.0, polls=0
        ),
        after_refused(
            used_version=7, latest_version=8, latest_usable=True, waited=0.0, limit=0.0, polls=0
        ),
    )
