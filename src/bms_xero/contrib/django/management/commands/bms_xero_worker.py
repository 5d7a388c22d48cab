"""``manage.py bms_xero_worker``: run the background jobs (pushes, pulls, customer links).

As a service (systemd, a container) it runs until SIGTERM or SIGINT, sleeping between polls
and queueing a pull every ``BMS_XERO['PULL_EVERY_MINUTES']``; a stop lets the batch in hand
finish, so no lease is left to run out. With ``--once`` it runs what is due and exits (cron,
tests). ``--queue`` picks the queues it takes jobs from (default ``BMS_XERO['QUEUE']``), so
workers of different processes never take each other's work.

It exits 0 when the jobs ran, whatever their outcome (a failed job is recorded on the job, for
Admin -> Background jobs); it fails (exit 1) only when the settings or the job store do.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bms_xero.contrib.django import wiring
from bms_xero.errors import BmsXeroError
from bms_xero.jobs import Job, RunReport

__all__ = ["Command", "job_line"]


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_float(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _stop_on_signals(stop: threading.Event) -> Callable[[], None] | None:
    """Set ``stop`` on SIGTERM and SIGINT (main thread only); returns what restores the
    previous handlers, or ``None`` in another thread (signals reach only the main one)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    wanted = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, handle) for sig in wanted}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore


def job_line(job: Job) -> str:
    """One job as the command prints it: status, what it did, and its error if any."""
    line = f"{job.status.value:<10} {job.description}"
    if job.last_error:
        line += f": {job.last_error}"
    return line


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types
    help = (
        "Run bms_xero's background jobs: push released invoices to Xero, pull payments back, "
        "link customers. Runs until SIGTERM/SIGINT, or with --once runs what is due and exits."
    )
    #: ``call_command("bms_xero_worker", stop=event)``: stop from another thread (tests, a
    #: host running the command in a thread), where signal handlers can't be installed.
    stealth_options = ("stop",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run the jobs due now, then exit")
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            metavar="NAME",
            help="take jobs of this queue (repeat for several; default BMS_XERO['QUEUE'])",
        )
        parser.add_argument(
            "--max-jobs",
            type=_positive_int,
            default=None,
            metavar="N",
            help="with --once: run at most N jobs",
        )
        parser.add_argument(
            "--poll",
            type=_positive_float,
            default=5.0,
            metavar="SECONDS",
            help="seconds between looks for new jobs while idle (default 5)",
        )
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help="don't queue the periodic pull (another process does)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._run(options)
        except BmsXeroError as e:
            raise CommandError(str(e)) from e

    def _run(self, options: dict[str, Any]) -> None:
        settings = wiring.get_settings()
        queues = tuple(options.get("queues") or (settings.queue,))
        worker = wiring.make_worker(queues=queues)
        schedule = None if options.get("no_schedule") else wiring.make_schedule(queue=queues[0])
        if options.get("once"):
            if schedule is not None:
                schedule.enqueue_due()
            self._report(worker.run_pending(max_jobs=options.get("max_jobs")))
            return
        if options.get("max_jobs") is not None:
            raise CommandError("--max-jobs works only with --once")
        given: threading.Event | None = options.get("stop")
        stop = given if given is not None else threading.Event()
        # Handlers first, then "running": a SIGTERM from the moment it is printed is clean.
        restore = _stop_on_signals(stop) if given is None else None
        try:
            self.stdout.write(
                f"bms_xero worker {worker.worker_id} running for tenant {settings.tenant_id} "
                f"(queues: {', '.join(queues)}); SIGTERM or Ctrl+C stops it"
            )
            worker.run_forever(stop, poll_interval=options.get("poll") or 5.0, schedule=schedule)
        finally:
            if restore is not None:
                restore()
        self.stdout.write("Worker stopped.")

    def _report(self, report: RunReport) -> None:
        for job in report.jobs:
            self.stdout.write(job_line(job))
        if not report.ran:
            self.stdout.write("No jobs due.")
            return
        lost = f", {len(report.lost)} lost their lease" if report.lost else ""
        self.stdout.write(
            f"Ran {report.ran} job{'s' * (report.ran != 1)}: {len(report.done)} done, "
            f"{len(report.failed)} failed, {len(report.waiting)} will retry{lost}."
        )
        for tenant, until in report.parked.items():
            self.stdout.write(
                f"Tenant {tenant} is parked until {until.isoformat()} (Xero's daily limit)."
            )
