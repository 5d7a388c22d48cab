"""The operator's subcommands: ``push``, ``pull``, ``jobs``, ``retry``, ``panel``, ``worker``,
``config``.

Each is a pair: ``_add_<name>(subparsers)`` declares the arguments and sets ``run`` to
``run_<name>(args, ctx) -> int``, which does the work through ``ctx.runtime`` (client, engine,
stores) and reports through ``ctx.out`` (text or JSON).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from bms_xero.cli._fake import stop_on_signals
from bms_xero.cli._output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REMOTE,
    Output,
    Progress,
    UsageError,
    error_document,
    exit_code,
    hint,
    one_line,
)
from bms_xero.cli._runtime import Runtime
from bms_xero.domain import Customer, Invoice
from bms_xero.engine import Panel, PaymentUpdate, PushResult
from bms_xero.errors import BmsXeroError, ConfigurationError, InvoiceValidationError, SyncError
from bms_xero.jobs import Job, JobStatus, PullSchedule, RunReport, Worker
from bms_xero.mapping.bms_json import invoice_from_dict, invoice_items
from bms_xero.xero import MAX_BATCH

__all__ = [
    "OPERATOR_COMMANDS",
    "Context",
    "run_config",
    "run_jobs",
    "run_panel",
    "run_pull",
    "run_push",
    "run_retry",
    "run_worker",
]

_Subparsers = Any  # argparse's _SubParsersAction is private
BATCH = MAX_BATCH  # Xero's batch size: one request per 50 invoices
#: The queue `push --background` uses and `worker` takes from: the CLI's InvoiceSource is its
#: own snapshots, so its worker must never take (and fail) a host application's jobs.
CLI_QUEUE = "cli"


@attrs.define
class Context:
    """What a subcommand works with.

    Attributes:
        out: Where results and errors go.
        runtime: Settings, client, engine and stores, built on first use.
        stdin: Where ``push -`` reads from.
        stop: Set to stop ``worker`` (SIGTERM/SIGINT set it too, in the main thread).
        browser: Opens ``connect``'s link (default: the desktop's browser, if there is one).
    """

    out: Output
    runtime: Runtime
    stdin: Any = None
    stop: threading.Event | None = None
    browser: Callable[[str], object] | None = None


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _money(value: object) -> str:
    return "-" if value is None else str(value)


# --- push ----------------------------------------------------------------------------------


@attrs.define
class _Item:
    """One invoice of the file on its way through ``push``."""

    index: int
    invoice_id: str | None
    invoice_number: str | None
    invoice: Invoice | None = None
    action: str | None = None
    result: PushResult | None = None
    job: Job | None = None
    error: BaseException | None = None

    @property
    def label(self) -> str:
        return self.invoice_number or self.invoice_id or f"item {self.index}"

    def fail(self, error: BaseException) -> None:
        if isinstance(error, BmsXeroError) and self.invoice_number:
            error = error.for_invoice(self.invoice_number)
        self.error = error
        self.action = "invalid" if isinstance(error, InvoiceValidationError) else "failed"

    def document(self, verbose: bool) -> dict[str, Any]:
        r = self.result
        return {
            "index": self.index,
            "invoice_id": self.invoice_id,
            "invoice_number": self.invoice_number,
            "ok": self.error is None,
            "action": self.action,
            "xero_invoice_id": r.xero_invoice_id if r else None,
            "xero_status": r.xero_status if r else None,
            "total": r.total if r else None,
            "rounding_difference": r.rounding_difference if r else None,
            "view_url": r.view_url if r else None,
            "job_id": self.job.id if self.job else None,
            "error": None if self.error is None else error_document(self.error, verbose=verbose),
        }


def _add_push(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "push",
        parents=[common],
        help="push the invoices of a JSON file to Xero (now, or as background jobs)",
        description=(
            'Read invoices (a JSON array, or {"invoices": [...]}, in the BMS JSON shape of '
            "docs/cli.md) and push them to Xero in batches of 50. A bad invoice does not stop "
            "the others; the exit status is 1 if any failed."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the invoices (JSON); - reads stdin")
    parser.add_argument(
        "--background",
        action="store_true",
        help="queue push jobs for `bms-xero worker` instead of pushing now",
    )
    parser.add_argument(
        "--link-customers",
        action="store_true",
        help="first find (by ContactNumber) or create the Xero contact of customers without one",
    )
    parser.add_argument(
        "--force", action="store_true", help="send invoices even when Xero already has them"
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show progress on stderr (default: when stderr is a terminal)",
    )
    shown.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show progress"
    )
    parser.set_defaults(run=run_push)


def _read_file(name: str, stdin: Any) -> str:
    if name == "-":
        source = stdin if stdin is not None else sys.stdin
        return str(source.read())
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name}: not UTF-8 text (save the JSON as UTF-8)") from None
    except OSError as e:
        raise UsageError(f"{name}: can't be read ({e.strerror})") from None


def _parse(text: str, source: str) -> list[_Item]:
    items: list[_Item] = []
    first_seen: dict[str, int] = {}
    for i, raw in enumerate(invoice_items(text, source=source)):
        fields = raw if isinstance(raw, dict) else {}
        invoice_id = fields.get("id") if isinstance(fields.get("id"), str) else None
        number = fields.get("number") if isinstance(fields.get("number"), str) else None
        item = _Item(index=i, invoice_id=invoice_id, invoice_number=number)
        items.append(item)
        try:
            item.invoice = invoice_from_dict(raw)
        except InvoiceValidationError as e:
            item.fail(e)
            continue
        earlier = first_seen.setdefault(item.invoice.id, i)
        if earlier != i:
            item.invoice = None
            item.fail(
                SyncError(
                    f"invoice id {invoice_id} appears more than once in {source} (items "
                    f"{earlier} and {i}); only the first was pushed, keep one",
                    invoice_number=number,
                )
            )
    return items


def _link_customers(ctx: Context, items: Sequence[_Item]) -> None:
    """Link every customer without a Xero contact id; their invoices fail if linking fails."""
    engine = ctx.runtime.engine()
    store = ctx.runtime.store()
    failures: dict[str, BaseException] = {}
    done: set[str] = set()
    for item in items:
        if item.invoice is None:
            continue
        customer: Customer = item.invoice.customer
        if customer.xero_contact_id is not None or customer.id in done:
            continue
        done.add(customer.id)
        if store.get_contact_id(engine.tenant_id, customer.id) is not None:
            continue
        try:
            engine.link_customer(customer)
        except BmsXeroError as e:
            failures[customer.id] = e
    for item in items:
        if item.invoice is not None and item.invoice.customer.id in failures:
            item.fail(failures[item.invoice.customer.id])
            item.invoice = None


def _push_now(ctx: Context, todo: Sequence[_Item], progress: Progress, force: bool) -> None:
    engine = ctx.runtime.engine()
    done = 0
    progress.update(0)
    for start in range(0, len(todo), BATCH):
        chunk = todo[start : start + BATCH]
        try:
            invoices = [item.invoice for item in chunk if item.invoice is not None]
            outcomes = engine.push_many(invoices, force=force)
        except BmsXeroError as e:  # the batch could not start: it, and what follows, failed
            for item in todo[start:]:
                item.fail(e)
            break
        for item, outcome in zip(chunk, outcomes, strict=True):
            if outcome.result is not None:
                item.result = outcome.result
                item.action = outcome.result.action.value
            else:
                item.fail(outcome.error or SyncError("the push gave no result"))
        done += len(chunk)
        progress.update(done)
    progress.finish()


def _push_background(ctx: Context, todo: Sequence[_Item]) -> None:
    tenant = ctx.runtime.tenant_id
    jobs = ctx.runtime.jobs()
    snapshots = ctx.runtime.snapshots()
    for item in todo:
        assert item.invoice is not None
        now = ctx.runtime.clock.now()
        snapshots.put(tenant, item.invoice, now=now)
        item.job = jobs.enqueue_push(
            tenant, item.invoice.id, invoice_number=item.invoice.number, now=now, queue=CLI_QUEUE
        )
        item.action = "queued"


def run_push(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero push FILE``."""
    if args.force and args.background:
        raise UsageError("--force works only without --background (the worker pushes changes)")
    source = "stdin" if args.file == "-" else args.file
    items = _parse(_read_file(args.file, ctx.stdin), source)
    if args.link_customers and any(item.invoice for item in items):
        _link_customers(ctx, items)
    todo = [item for item in items if item.invoice is not None]
    if todo and args.background:
        _push_background(ctx, todo)
    elif todo:
        tty = bool(getattr(ctx.out.stderr, "isatty", lambda: False)())
        enabled = args.progress if args.progress is not None else tty and not ctx.out.json_mode
        progress = Progress(len(todo), ctx.out, enabled=enabled, tty=tty, label="invoices pushed")
        _push_now(ctx, todo, progress, args.force)
    return _report_push(ctx.out, items, background=args.background)


def _report_push(out: Output, items: Sequence[_Item], *, background: bool) -> int:
    failed = [item for item in items if item.error is not None]
    counts = Counter(item.action for item in items if item.error is None)
    status = EXIT_OK
    if failed:
        status = EXIT_FAILED
        if any(exit_code(item.error) == EXIT_REMOTE for item in failed if item.error):
            status = EXIT_REMOTE
    summary = {
        "invoices": len(items),
        "failed": len(failed),
        **{str(action): count for action, count in sorted(counts.items())},
    }
    out.document(
        {
            "command": "push",
            "ok": not failed,
            "background": background,
            "summary": summary,
            "invoices": [item.document(out.verbose) for item in items],
        }
    )
    rows = []
    for item in items:
        if item.error is not None:
            advice = hint(item.error)
            detail = one_line(item.error) + (f"; {advice}" if advice else "")
            rows.append([item.label, item.action or "failed", detail])
        elif item.job is not None:
            rows.append([item.label, "queued", f"job {item.job.id}"])
        elif item.result is not None:
            r = item.result
            diff = (
                f" (BMS total differs by {r.rounding_difference})" if r.rounding_difference else ""
            )
            rows.append(
                [item.label, r.action.value, f"total {_money(r.total)}{diff}  {r.view_url}"]
            )
    out.table(rows)
    done = ", ".join(f"{count} {action}" for action, count in sorted(counts.items()))
    tail = f"; {len(failed)} failed" if failed else ""
    if not items:
        out.line("No invoices in the file.")
    else:
        out.line(f"{len(items)} invoice{'s' * (len(items) != 1)}: {done or 'none pushed'}{tail}")
    if background and counts.get("queued"):
        out.line("Run `bms-xero worker --once` (or keep `bms-xero worker` running) to push them.")
    return status


# --- pull ----------------------------------------------------------------------------------


def _add_pull(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "pull",
        parents=[common],
        help="bring payments and status changes back from Xero (since the last pull)",
        description=(
            "Read the invoices and payments changed in Xero since the last pull and update "
            "the sync records; prints each change."
        ),
    )
    parser.set_defaults(run=run_pull)


def run_pull(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero pull``."""
    updates = ctx.runtime.engine().pull()
    ctx.out.document({"command": "pull", "updates": updates})
    ctx.out.table([_update_row(u) for u in updates])
    if updates:
        ctx.out.line(f"{len(updates)} invoice{'s' * (len(updates) != 1)} changed in Xero.")
    else:
        ctx.out.line("No changes in Xero since the last pull.")
    return EXIT_OK


def _update_row(update: PaymentUpdate) -> list[str]:
    was = f"(was {update.previous_status.value})" if update.previous_status else "(first pull)"
    return [
        update.invoice_number,
        update.status.value,
        f"paid {update.amount_paid}",
        f"due {update.amount_due}",
        f"credited {update.amount_credited}",
        was,
    ]


# --- jobs and retry ------------------------------------------------------------------------


def _add_jobs(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "jobs",
        parents=[common],
        help="list background jobs, newest first (each names its invoice)",
        description="List the background jobs in the database, newest first.",
    )
    parser.add_argument("--failed", action="store_true", help="only jobs that failed for good")
    parser.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in JobStatus],
        help="only jobs in this status (repeat for several)",
    )
    parser.add_argument("--invoice", metavar="ID", help="only jobs for this BMS invoice id")
    parser.add_argument("--limit", type=_positive_int, default=50, help="at most N (default 50)")
    parser.set_defaults(run=run_jobs)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


_JOB_HEADER = ("JOB", "STATUS", "TRIES", "UPDATED", "DESCRIPTION")


def _job_rows(jobs: Sequence[Job]) -> list[list[str]]:
    rows = []
    for job in jobs:
        rows.append(
            [job.id, job.status.value, str(job.attempts), _when(job.updated_at), job.description]
        )
        if job.last_error and job.status is not JobStatus.DONE:
            rows.append(["", "", "", "", f"  {job.last_error}"])
    return rows


def run_jobs(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero jobs``."""
    statuses = {JobStatus(s) for s in args.status or ()}
    if args.failed:
        statuses.add(JobStatus.FAILED)
    jobs = ctx.runtime.jobs().list_jobs(
        tenant_id=ctx.runtime.settings.tenant_id,
        statuses=statuses or None,
        invoice_id=args.invoice,
        limit=args.limit,
    )
    ctx.out.document({"command": "jobs", "jobs": [_job_document(j) for j in jobs]})
    if not jobs:
        ctx.out.line("No jobs." if not statuses else "No jobs in that status.")
        return EXIT_OK
    ctx.out.table(_job_rows(jobs), header=_JOB_HEADER)
    return EXIT_OK


def _job_document(job: Job) -> dict[str, Any]:
    doc: dict[str, Any] = {f.name: getattr(job, f.name) for f in attrs.fields(Job)}
    doc["description"] = job.description
    return doc


def _add_retry(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "retry",
        parents=[common],
        help="run a failed (or waiting) job again now, or every failed job",
        description=(
            "Make jobs due now with a fresh attempt budget; the worker runs them "
            "(`bms-xero worker --once`)."
        ),
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("job_id", nargs="?", metavar="JOB_ID", help="the job (from `jobs`)")
    which.add_argument("--all-failed", action="store_true", help="every failed job")
    parser.set_defaults(run=run_retry)


def run_retry(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero retry JOB_ID | --all-failed``."""
    jobs = ctx.runtime.jobs()
    now = ctx.runtime.clock.now()
    if args.all_failed:
        retried = jobs.retry_failed(now=now, tenant_id=ctx.runtime.settings.tenant_id)
    else:
        before = jobs.get(args.job_id)
        if before is None:
            raise UsageError(f"there is no job {args.job_id} in {ctx.runtime.db}")
        after = jobs.retry_now(args.job_id, now=now)
        retried = [after] if after is not None and after.status is JobStatus.PENDING else []
        if not retried:
            ctx.out.document({"command": "retry", "retried": [], "job": _job_document(before)})
            ctx.out.line(
                f"job {before.id} is {before.status.value}; nothing to retry ({before.description})"
            )
            return EXIT_OK
    ctx.out.document({"command": "retry", "retried": [_job_document(j) for j in retried]})
    for job in retried:
        ctx.out.line(f"job {job.id} will run again now: {job.description}")
    if retried:
        ctx.out.line("Run `bms-xero worker --once` (or keep `bms-xero worker` running).")
    else:
        ctx.out.line("No failed jobs.")
    return EXIT_OK


# --- panel ---------------------------------------------------------------------------------


def _add_panel(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "panel",
        parents=[common],
        help="show an invoice's integration panel (link, status, last push and pull)",
        description=(
            "Show what the BMS shows beside the invoice, from the SQLite file alone (no Xero "
            "credentials needed)."
        ),
    )
    parser.add_argument("invoice_id", metavar="INVOICE_ID", help="the BMS invoice id")
    parser.set_defaults(run=run_panel)


def _panel_tenant(runtime: Runtime) -> str | None:
    """The organisation whose panel to show, from the settings or the file alone.

    Configured: it, unless the file holds nothing for it but does for others (a wrong id,
    which would otherwise show every invoice as "not pushed yet"). Not configured: the one
    organisation the file knows; ``None`` when it knows none (nothing was pushed yet).

    Raises:
        ConfigurationError: The configured organisation is unknown to a file that knows
            others, or the file knows several and none is configured.
    """
    known = runtime.known_tenants()
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    configured = runtime.settings.tenant_id
    if configured is not None:
        if known and configured not in known:
            origin = runtime.settings.sources.get("tenant_id", "the settings")
            raise ConfigurationError(
                f"{runtime.db} has nothing for organisation {configured} (tenant_id from "
                f"{origin}); it has records for {shown}: check --tenant-id or "
                "BMS_XERO_TENANT_ID, or the database (--db)"
            )
        return configured
    if len(known) > 1:
        raise ConfigurationError(
            f"{runtime.db} has records for {len(known)} organisations ({shown}); choose one "
            "with --tenant-id or BMS_XERO_TENANT_ID"
        )
    return known[0] if known else None


def run_panel(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero panel INVOICE_ID``: from the SQLite file alone (no credentials, no Xero)."""
    tenant = _panel_tenant(ctx.runtime)
    panel: Panel = (
        Panel(invoice_id=args.invoice_id)
        if tenant is None
        else ctx.runtime.store_engine(tenant).panel(args.invoice_id)
    )
    ctx.out.document({"command": "panel", "tenant_id": tenant, "panel": panel})
    if panel.state is None:
        ctx.out.line(f"{panel.invoice_id}: not pushed to Xero yet.")
        return EXIT_OK
    status = panel.status.value if panel.status else "-"
    rows = [
        ["invoice", f"{panel.invoice_number or '-'} (id {panel.invoice_id})"],
        ["sync state", panel.state],
        ["status", f"{status} (Xero: {panel.xero_status or '-'})"],
        ["total", _money(panel.total)],
        ["amount paid", _money(panel.amount_paid)],
        ["amount due", _money(panel.amount_due)],
        ["credited", _money(panel.amount_credited)],
        ["fully paid on", "-" if panel.fully_paid_on is None else panel.fully_paid_on.isoformat()],
        ["last push", _when(panel.last_push_at)],
        ["last pull", _when(panel.last_pull_at)],
        ["view in Xero", panel.view_url or "-"],
        ["Xero invoice", panel.xero_invoice_id or "-"],
    ]
    if panel.last_error:
        rows.append(["last error", f"{panel.last_error} ({_when(panel.last_error_at)})"])
    ctx.out.table(rows)
    return EXIT_OK


# --- worker --------------------------------------------------------------------------------


def _add_worker(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "worker",
        parents=[common],
        help="run background jobs: until stopped (SIGTERM/Ctrl+C), or once with --once",
        description=(
            "Run the background jobs of the organisation: pushes queued by `push "
            "--background` (and retried ones) and payment pulls. Without --once it runs until "
            "SIGTERM or Ctrl+C, finishing the batch in hand."
        ),
    )
    parser.add_argument("--once", action="store_true", help="run what is due now, then exit")
    parser.add_argument(
        "--max-jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="with --once: run at most N jobs",
    )
    parser.add_argument(
        "--pull-every",
        type=_positive_float,
        default=None,
        metavar="MINUTES",
        help="also pull payments every MINUTES (with --once: queue a pull if one is due)",
    )
    parser.add_argument(
        "--queue",
        default=CLI_QUEUE,
        metavar="NAME",
        help=(
            f"take jobs from this queue only (default {CLI_QUEUE!r}, where `push --background` "
            "queues): a job store shared with a host application keeps the host's jobs, on "
            "queue 'default', for the host's own worker"
        ),
    )
    parser.add_argument(
        "--poll",
        type=_positive_float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between looks for new jobs while idle (default 5)",
    )
    parser.set_defaults(run=run_worker)


def run_worker(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero worker``."""
    rt = ctx.runtime
    engine = rt.engine()
    jobs = rt.jobs()
    worker = Worker(engine, jobs, rt.snapshots(), clock=rt.clock, queues=[args.queue])
    schedule = (
        PullSchedule(
            jobs,
            [engine.tenant_id],
            every_minutes=args.pull_every,
            clock=rt.clock,
            queue=args.queue,
        )
        if args.pull_every
        else None
    )
    if args.once:
        if schedule is not None:
            schedule.enqueue_due()
        return _report_run(ctx.out, worker.run_pending(max_jobs=args.max_jobs))
    if args.max_jobs is not None:
        raise UsageError("--max-jobs works only with --once")
    stop = ctx.stop or threading.Event()
    restore = stop_on_signals(stop)  # before saying "running": a SIGTERM from then on is clean
    try:
        ctx.out.note(
            f"worker {worker.worker_id} running for tenant {engine.tenant_id}; Ctrl+C stops"
        )
        worker.run_forever(stop, poll_interval=args.poll, schedule=schedule)
    finally:
        restore()
    ctx.out.document({"command": "worker", "stopped": True, "worker_id": worker.worker_id})
    ctx.out.line("Worker stopped.")
    return EXIT_OK


def _report_run(out: Output, report: RunReport) -> int:
    out.document(
        {
            "command": "worker",
            "ok": not report.failed,
            "summary": {
                "ran": report.ran,
                "done": len(report.done),
                "failed": len(report.failed),
                "waiting": len(report.waiting),
                "lost": len(report.lost),
            },
            "jobs": [_job_document(j) for j in report.jobs],
            "lost": [_job_document(j) for j in report.lost],
            "parked": dict(report.parked),
        }
    )
    out.table(_job_rows(report.jobs), header=_JOB_HEADER if report.jobs else None)
    if not report.ran:
        out.line("No jobs due.")
    else:
        out.line(
            f"Ran {report.ran} job{'s' * (report.ran != 1)}: {len(report.done)} done, "
            f"{len(report.failed)} failed, {len(report.waiting)} will retry"
            + (f", {len(report.lost)} lost their lease" if report.lost else "")
        )
    for tenant, until in report.parked.items():
        out.line(f"Tenant {tenant} is parked until {_when(until)} (Xero's daily limit).")
    return EXIT_FAILED if report.failed else EXIT_OK


# --- config --------------------------------------------------------------------------------


def _add_config(subparsers: _Subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "config",
        parents=[common],
        help="show the effective settings and where each came from (never the secret)",
        description="Show the effective settings, flags over environment over the config file.",
    )
    parser.set_defaults(run=run_config)


def run_config(args: argparse.Namespace, ctx: Context) -> int:
    """``bms-xero config``."""
    s = ctx.runtime.settings
    shown: dict[str, Any] = {}
    for f in attrs.fields(type(s)):
        if f.name == "sources":
            continue
        value = getattr(s, f.name)
        if f.name == "client_secret":
            value = None if value is None else "<set>"
        shown[f.name] = value
    ctx.out.document({"command": "config", "settings": shown, "sources": dict(s.sources)})
    rows = []
    for name, value in shown.items():
        text = "-" if value is None or value == {} else str(value)
        if name == "tax_map" and value:
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        origin = s.sources.get(name)
        rows.append([name, text, f"({origin})" if origin else "(not set)"])
    ctx.out.table(rows)
    return EXIT_OK


OPERATOR_COMMANDS = (
    _add_push,
    _add_pull,
    _add_jobs,
    _add_retry,
    _add_panel,
    _add_worker,
    _add_config,
)
