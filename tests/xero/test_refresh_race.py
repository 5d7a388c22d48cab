"""Eight processes, one SQLite token store, a loopback FakeXero: one refresh per expiry."""

from __future__ import annotations

from pathlib import Path

from tests.xero._refresh_race import race

PROCESSES = 8
ROUNDS = 6


def test_strict_rotation_refreshes_once_per_expiry(tmp_path: Path) -> None:
    """With strict rotation (a used refresh token refused at once), 8 processes x 6 expiries
    cost exactly one refresh each, no invalid_grant, and every call succeeds."""
    report = race(tmp_path, refresh_grace=0, processes=PROCESSES, rounds=ROUNDS)

    assert ([], []) == (report.crashes, report.failed)
    assert ([1] * ROUNDS, 0, PROCESSES * ROUNDS) == (
        report.refreshes,
        report.invalid_grant,
        report.calls,
    )


def test_with_a_grace_period_one_refresh_per_expiry_too(tmp_path: Path) -> None:
    """With Xero's grace period, the others still wait for the one refresher instead of
    each refreshing (8 refreshes a round before the lease)."""
    report = race(tmp_path, refresh_grace=1800, processes=PROCESSES, rounds=ROUNDS)

    assert ([], [], [1] * ROUNDS, 0) == (
        report.crashes,
        report.failed,
        report.refreshes,
        report.invalid_grant,
    )


def test_without_the_lease_a_lost_race_uses_the_winners_save(tmp_path: Path) -> None:
    """A store without the refresh lease: processes race to refresh and the losers get
    invalid_grant under strict rotation, but each waits for the winner's save and uses its
    tokens; no call fails."""
    report = race(tmp_path, refresh_grace=0, lease=False, processes=PROCESSES, rounds=3)

    assert ([], [], [1, 1, 1], PROCESSES * 3) == (
        report.crashes,
        report.failed,
        report.refreshes,
        report.calls,
    )
    assert report.invalid_grant > 0  # the race happened: the lease is what prevents it
