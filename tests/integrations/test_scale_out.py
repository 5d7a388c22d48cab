"""Scale-out on loopback: Celery workers on Redis and PostgreSQL, killed at random, 3 orgs.

The example in ``examples/scale_out/`` run whole by its harness: a FakeXero holding three
organisations (Xero's limits enforced: 5 in flight, 60 a minute, on the real clock, with
every request held in flight for a while as Xero's are), PostgreSQL for the sync records and
the jobs (a database of the run's own), Redis as the broker and the shared rate budget, the
host releasing 1,500 invoices, and 4 ``celery worker`` processes of 2 pool processes each,
SIGKILLed (worker and pool together) every 4-8 seconds and started again.

Needs PostgreSQL and Redis: in CI (``CI=true``) their absence fails the test; elsewhere it is
skipped with how to provide them. The harness prints its figures (``-s`` shows them);
``benchmarks/scale_out.py`` runs larger sizes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.services import require_celery, require_postgres, require_redis

require_celery()

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scale_out"


def _harness() -> ModuleType:
    """examples/scale_out/harness.py, imported by path (the example is not a package)."""
    spec = importlib.util.spec_from_file_location("scale_out_harness", EXAMPLE / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs classes look their module up while being built
    spec.loader.exec_module(module)
    return module


def _tail(logs: Path) -> str:
    """The end of every worker's log, for a failure message."""
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted(logs.glob("worker-*.log"))
    )


def test_killed_workers_lose_no_job_and_duplicate_no_invoice(tmp_path: Path) -> None:
    """With workers SIGKILLed at random, every one of 1,500 queued jobs ends done, each
    invoice is in Xero exactly once (by number), the fake answered no 429, and no
    organisation ever had more than 5 requests in flight."""
    postgres = require_postgres()
    redis = require_redis()
    harness = _harness()
    # Kills every 1.5-3 s and batches of 25: the run lasts long enough for several kills
    # even on an idle machine, where batches of 50 finish before a second kill is due.
    scale = harness.Scale(
        invoices=1500, orgs=3, workers=4, concurrency=2, batch_size=25, kill_every=(1.5, 3.0)
    )
    figures = harness.run(scale, postgres_url=postgres, redis_url=redis, logs=tmp_path)
    print(figures.summary())
    if not figures.finished:
        pytest.fail(f"the run did not finish:\n{figures.summary()}\n{_tail(tmp_path)}")
    expected = {tenant: (500, [], 0, True) for tenant in figures.orgs}
    actual = {
        tenant: (
            report["invoices"],
            report["duplicates"],
            report["rate_limited"],
            2 <= report["peak_in_flight"] <= 5,
        )
        for tenant, report in figures.orgs.items()
    }
    assert ({"done": 1500}, expected) == (figures.jobs, actual), figures.summary()
    assert figures.kills >= 2, "the run was too short to kill workers while they worked"
