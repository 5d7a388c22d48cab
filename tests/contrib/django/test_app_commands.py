"""``manage.py bms_xero_worker`` (``--once``, ``--queue``, a clean stop on SIGTERM) and
``manage.py bms_xero_pull`` (queued, ``--now``, ``--invoice``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.release import queue_push
from bms_xero.jobs import JobKind, JobStatus
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_worker_once_runs_what_is_due_and_reports_each_job(app: App) -> None:
    """``--once`` runs the due pushes, prints each outcome with the failure's words and a
    summary, and exits."""
    app.invoice(1)
    app.invoice(2, linked=False)
    queue_push("I-1", invoice_number="INV-0001")
    queue_push("I-2", invoice_number="INV-0002")
    *jobs, summary = run("bms_xero_worker", "--once", "--no-schedule").splitlines()
    assert [
        "done       Push invoice INV-0001 to Xero",
        "failed     Push invoice INV-0002 to Xero: invoice INV-0002: customer C-2 (Nobody Yet "
        "Ltd) has no Xero identifier; sync the customer first (SyncEngine.link_customer) and "
        "push the invoice again",
        "Ran 2 jobs: 1 done, 1 failed, 0 will retry.",
    ] == [*sorted(jobs), summary]


def test_worker_once_queues_the_scheduled_pull_first(app: App) -> None:
    """Without ``--no-schedule`` the periodic pull is queued and run too."""
    assert [
        "done       Pull payments from Xero",
        "Ran 1 job: 1 done, 0 failed, 0 will retry.",
    ] == run("bms_xero_worker", "--once").splitlines()


def test_a_worker_takes_only_its_queues(app: App) -> None:
    """A worker of another queue leaves the default queue's push alone."""
    app.invoice(1)
    queue_push("I-1")
    out = run("bms_xero_worker", "--once", "--no-schedule", "--queue", "other")
    [job] = wiring.get_jobs().list_jobs()
    assert ("No jobs due.\n", JobStatus.PENDING) == (out, job.status)


def test_max_jobs_needs_once(app: App) -> None:
    """``--max-jobs`` without ``--once`` is refused before anything runs."""
    with pytest.raises(CommandError, match="--max-jobs works only with --once"):
        run("bms_xero_worker", "--max-jobs", "3")


def test_a_bad_setting_stops_the_worker_with_its_message(app: App) -> None:
    """A worker without an invoice source says which setting to set."""
    with app.settings(INVOICE_SOURCE=None), pytest.raises(CommandError) as caught:
        run("bms_xero_worker", "--once")
    assert str(caught.value).startswith("BMS_XERO['INVOICE_SOURCE'] is not set: point it at")


def test_the_worker_runs_until_stopped(app: App) -> None:
    """Without ``--once`` it runs jobs as they come and stops when told, finishing cleanly."""
    app.invoice(1)
    queue_push("I-1")
    [job] = wiring.get_jobs().list_jobs()
    stop = threading.Event()
    out = StringIO()
    worker = threading.Thread(
        target=call_command,
        args=("bms_xero_worker", "--no-schedule", "--poll", "1"),
        kwargs={"stop": stop, "stdout": out},
    )
    worker.start()
    deadline = time.monotonic() + 20
    while wiring.get_jobs().get(job.id).status is not JobStatus.DONE:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the worker did not run the job"
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=20)
    assert (False, "Worker stopped.") == (worker.is_alive(), out.getvalue().splitlines()[-1])


def test_sigterm_stops_the_worker_process_cleanly(app: App) -> None:
    """As a service, the command stops on SIGTERM and exits 0 saying so."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.contrib.django.app_settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "bms_xero_worker", "--no-schedule", "--poll", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (True, 0, "Worker stopped.") == (
        "running for tenant set-by-each-test (queues: default)" in started,
        process.returncode,
        rest.strip(),
    ), errors


def test_pull_queues_a_pull_for_the_worker(app: App) -> None:
    """By default a pull is queued, not run: the command returns at once."""
    out = run("bms_xero_pull")
    [job] = wiring.get_jobs().list_jobs()
    assert (JobKind.PULL, True, []) == (
        job.kind,
        out.startswith("Queued: Pull payments from Xero (job "),
        app.xero.requests,
    )


def test_pull_of_invoices_queues_their_refreshes(app: App) -> None:
    """``--invoice`` queues a refresh of each invoice named."""
    run("bms_xero_pull", "--invoice", "I-1", "--invoice", "I-2")
    assert [(JobKind.PULL_INVOICES, "I-1"), (JobKind.PULL_INVOICES, "I-2")] == sorted(
        (j.kind, j.invoice_id) for j in wiring.get_jobs().list_jobs()
    )


def test_pull_now_prints_what_changed(app: App) -> None:
    """``--now`` pulls in this process and prints each invoice that changed."""
    engine = wiring.get_engine()
    engine.push(app.invoice(1))
    app.xero.pay(app.xero.invoices()[0]["InvoiceID"], amount="115.00")
    assert [
        "INV-0001: paid (was awaiting_payment), paid 115.00, due 0.00",
        "1 invoice changed in Xero.",
    ] == run("bms_xero_pull", "--now").splitlines()


def test_pull_now_with_nothing_new(app: App) -> None:
    """A pull with no changes says so."""
    assert "No changes in Xero since the last pull.\n" == run("bms_xero_pull", "--now")
