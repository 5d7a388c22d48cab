"""Periodic pulls: enqueue a payment pull for each tenant every N minutes, without polling.

The schedule keeps no state of its own: a tenant is due when its newest pull job (in any
status) was created ``every`` ago or longer, so several worker processes sharing a job store
agree, a restart neither loses nor doubles a pull, and enqueueing deduplicates against a pull
that is still waiting. :meth:`PullSchedule.seconds_until_due` tells a loop how long it may
sleep; ``Worker.run_forever(schedule=...)`` uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bms_xero.clock import Clock, SystemClock
from bms_xero.errors import ConfigurationError
from bms_xero.jobs._protocols import JobStore
from bms_xero.jobs._records import DEFAULT_QUEUE, Job, JobKind, JobStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["PullSchedule"]


class PullSchedule:
    """Pull payments for each tenant every ``every_minutes``.

    Args:
        jobs: The job store the worker reads.
        tenant_ids: The tenants to pull.
        every_minutes: Minutes between pulls of one tenant (Xero's webhooks cover the
            invoices that change in between; payments have no webhook).
        clock: The time (default: the system clock).
        queue: The queue the pulls go to (the queue of the worker that runs them).
    """

    def __init__(
        self,
        jobs: JobStore,
        tenant_ids: Iterable[str],
        *,
        every_minutes: float = 30.0,
        clock: Clock | None = None,
        queue: str = DEFAULT_QUEUE,
    ) -> None:
        tenants = list(dict.fromkeys(tenant_ids))
        if not tenants or not all(isinstance(t, str) and t for t in tenants):
            raise ConfigurationError("PullSchedule needs one or more tenant ids (non-empty)")
        if (
            isinstance(every_minutes, bool)
            or not isinstance(every_minutes, int | float)
            or not every_minutes > 0
        ):
            raise ConfigurationError(f"every_minutes must be > 0, not {every_minutes!r}")
        if not isinstance(queue, str) or not queue:
            raise ConfigurationError(f"queue must be a non-empty string, not {queue!r}")
        self._queue = queue
        self._jobs = jobs
        self._tenants = tenants
        self._every = timedelta(minutes=every_minutes)
        self._clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        minutes = self._every.total_seconds() / 60
        return f"PullSchedule(tenants={len(self._tenants)}, every_minutes={minutes:g})"

    @property
    def every(self) -> timedelta:
        """The time between two pulls of one tenant."""
        return self._every

    def due_at(self, tenant_id: str) -> datetime | None:
        """When the tenant's next pull falls due, or ``None`` while a pull is already waiting
        to run (pending, or leased). A tenant never pulled is due from the epoch."""
        newest = self._jobs.list_jobs(tenant_id=tenant_id, kinds=[JobKind.PULL], limit=1)
        if not newest:
            return _EPOCH
        if newest[0].status in (JobStatus.PENDING, JobStatus.LEASED):
            return None
        return newest[0].created_at + self._every

    def due(self, now: datetime | None = None) -> list[str]:
        """The tenants whose pull is due at ``now`` (default: the clock's now)."""
        now = now or self._clock.now()
        result = []
        for tenant in self._tenants:
            at = self.due_at(tenant)
            if at is not None and at <= now:
                result.append(tenant)
        return result

    def enqueue_due(self, now: datetime | None = None) -> list[Job]:
        """Enqueue a pull for every due tenant; returns the new jobs."""
        now = now or self._clock.now()
        return [
            self._jobs.enqueue_pull(tenant, now=now, queue=self._queue) for tenant in self.due(now)
        ]

    def seconds_until_due(self, now: datetime | None = None) -> float:
        """Seconds until the next tenant falls due: 0 when one is due already, and a whole
        interval when every tenant has a pull waiting (its run restarts the count)."""
        now = now or self._clock.now()
        waits = [
            max(0.0, (at - now).total_seconds())
            for at in map(self.due_at, self._tenants)
            if at is not None
        ]
        return min(waits, default=self._every.total_seconds())
