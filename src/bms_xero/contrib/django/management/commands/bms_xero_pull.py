"""``manage.py bms_xero_pull``: bring payments back from Xero, queued or now.

By default it queues a pull for the worker (the one that also runs every
``PULL_EVERY_MINUTES``) and exits at once, so a cron line never waits for Xero. ``--now`` runs
it in this process and prints each invoice that changed. ``--invoice ID`` (repeatable)
refreshes just those BMS invoices.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bms_xero.contrib.django import wiring
from bms_xero.engine import PaymentUpdate
from bms_xero.errors import BmsXeroError

__all__ = ["Command", "update_line"]


def update_line(update: PaymentUpdate) -> str:
    """One pulled change as the command prints it."""
    was = f" (was {update.previous_status.value})" if update.previous_status else ""
    return (
        f"{update.invoice_number}: {update.status.value}{was}, paid {update.amount_paid}, "
        f"due {update.amount_due}"
    )


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types
    help = (
        "Pull payments from Xero: queue a pull for the worker (default), or run it now with "
        "--now; --invoice ID refreshes only those BMS invoices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="pull in this process and print what changed"
        )
        parser.add_argument(
            "--invoice",
            action="append",
            dest="invoices",
            metavar="ID",
            help="refresh this BMS invoice only (repeat for several)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        invoices: list[str] = list(options.get("invoices") or [])
        try:
            if options.get("now"):
                self._now(invoices)
            else:
                self._queue(invoices)
        except BmsXeroError as e:
            raise CommandError(str(e)) from e

    def _queue(self, invoices: list[str]) -> None:
        settings = wiring.get_settings()
        jobs = wiring.get_jobs()
        now = wiring.get_clock().now()
        if not invoices:
            job = jobs.enqueue_pull(settings.tenant_id, now=now, queue=settings.queue)
            self.stdout.write(f"Queued: {job.description} (job {job.id}).")
            return
        for invoice_id in invoices:
            job = jobs.enqueue_pull(
                settings.tenant_id, now=now, invoice_id=invoice_id, queue=settings.queue
            )
            self.stdout.write(f"Queued: {job.description} (job {job.id}).")

    def _now(self, invoices: list[str]) -> None:
        engine = wiring.get_engine()
        updates = engine.pull_invoices(invoices) if invoices else engine.pull()
        for update in updates:
            self.stdout.write(update_line(update))
        count = len(updates)
        if count:
            self.stdout.write(f"{count} invoice{'s' * (count != 1)} changed in Xero.")
        else:
            self.stdout.write("No changes in Xero since the last pull.")
