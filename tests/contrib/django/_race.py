"""Worker for the multi-process lease race on the Django job store; a module of its own so
spawned children import it (and configure Django themselves)."""

from __future__ import annotations

import os
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier


def lease_all(
    sqlite_dir: str,
    alias: str,
    worker_id: str,
    tenant: str,
    start: Barrier,
    results: Queue[tuple[str, object]],
) -> None:
    """Lease the tenant's jobs two at a time until none is left, through DjangoJobStore on
    ``alias``; report the ids leased (or the error)."""
    leased: list[str] = []
    try:
        os.environ["BMS_XERO_DJANGO_SQLITE_DIR"] = sqlite_dir
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.contrib.django.settings")
        import django

        django.setup()
        from bms_xero.contrib.django.stores import DjangoJobStore

        store = DjangoJobStore(using=alias)
        now = datetime.fromisoformat("2026-01-05T09:00Z")
        start.wait(timeout=60)
        while True:
            jobs = store.lease(
                worker_id=worker_id, now=now, lease_seconds=600, limit=2, tenant_ids=[tenant]
            )
            if not jobs:
                break
            leased.extend(job.id for job in jobs)
        results.put(("ok", leased))
    except BaseException as exc:
        results.put(("error", repr(exc)))
