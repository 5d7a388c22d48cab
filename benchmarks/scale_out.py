"""Scale-out figures: Celery workers on Redis and PostgreSQL against the rate-limit floor.

Run from the repository root (PostgreSQL and Redis on this machine)::

    .venv/bin/python benchmarks/scale_out.py [--invoices 6000] [--workers 4] [--quick]

Runs the example in ``examples/scale_out/`` through its harness: a FakeXero holding the
organisations on loopback (Xero's limits, the real clock, each request held in flight
``--latency`` seconds), PostgreSQL for sync records and jobs (a database of the run's own,
dropped after), Redis as the broker and the shared rate budget, and ``--workers`` ``celery
worker`` processes of ``--concurrency`` pool processes each. Five runs: 1,500 invoices in
batches of 50 with the workers left alone, then SIGKILLed every 4-8 s and started again;
``--invoices`` in batches of ``--batch-size`` (6,000 in tens: each organisation then needs
several minute windows), left alone and with kills; and 1,500 without the shared rate budget
(each process pacing itself alone), to show the 429s it prevents.

Per organisation it prints the invoices in Xero (and any number there twice), the requests
the fake saw, 429s, the most in flight at once, and the minutes between that organisation's
first and last request against the rate-limit floor, ``ceil(requests / 60)`` minutes: at 60
calls a minute an organisation can go no faster; one Markdown row per organisation and run.
``--quick`` makes one run of 300 invoices (that the script still runs). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "scale_out"))

import harness  # examples/scale_out, put on sys.path above


def scenarios(args: argparse.Namespace) -> list[tuple[str, harness.Scale]]:
    """The runs: the CI size left alone and with kills; a rate-bound size (small batches, so
    each organisation needs several minute windows) left alone and with kills; and the CI
    size without the shared budget, to show what it prevents. ``--quick``: one small run."""
    common = {
        "orgs": args.orgs,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "latency": args.latency,
        "timeout": 1800.0,
    }
    kills = (4.0, 8.0)
    if args.quick:
        return [("quick", harness.Scale(invoices=300, batch_size=50, kill_every=None, **common))]
    size, batch = args.invoices, args.batch_size
    return [
        ("CI size", harness.Scale(invoices=1500, batch_size=50, kill_every=None, **common)),
        ("CI size, kills", harness.Scale(invoices=1500, batch_size=50, kill_every=kills, **common)),
        ("rate-bound", harness.Scale(invoices=size, batch_size=batch, kill_every=None, **common)),
        (
            "rate-bound, kills",
            harness.Scale(invoices=size, batch_size=batch, kill_every=kills, **common),
        ),
        (
            "no shared budget",
            harness.Scale(
                invoices=1500, batch_size=50, kill_every=None, shared_budget=False, **common
            ),
        ),
    ]


HEADER = (
    "| run | invoices | batch | kills | all done (s) | org | in Xero | twice | requests "
    "| writes | 429s | most in flight | busy (min) | floor (min) |"
)


def rows(name: str, figures: harness.Figures) -> list[str]:
    """One Markdown row per organisation of a run."""
    scale = figures.scale
    done = f"{figures.seconds:.1f}" if figures.finished else f"NOT DONE ({figures.seconds:.0f})"
    return [
        f"| {name} | {scale.invoices} | {scale.batch_size} | {figures.kills} | {done} | {n} "
        f"| {org['invoices']} | {len(org['duplicates'])} | {org['requests']} | {org['writes']} "
        f"| {org['rate_limited']} | {org['peak_in_flight']} | {org['busy_minutes']:.2f} "
        f"| {org['floor_minutes']} |"
        for n, org in enumerate(figures.orgs.values(), start=1)
    ]


def missing_server(postgres: str, redis_url: str) -> str | None:
    """Why the run can't start (a server that does not answer), or ``None``."""
    import psycopg
    import redis

    def where(url: str) -> str:  # host and port only: a URL may carry a password
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}"

    try:
        psycopg.connect(postgres, connect_timeout=2).close()
    except psycopg.Error as e:
        return f"PostgreSQL at {where(postgres)} does not answer ({type(e).__name__})"
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as e:
        return f"Redis at {where(redis_url)} does not answer ({type(e).__name__})"
    finally:
        client.close()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=6000, help="rate-bound run (6000)")
    parser.add_argument("--batch-size", type=int, default=10, help="rate-bound run (10)")
    parser.add_argument("--orgs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--quick", action="store_true", help="one 300-invoice run")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    problem = missing_server(args.postgres, args.redis)
    if problem is not None:
        # Outside CI a machine without the servers gets the reason, not a failure.
        print(f"| not run: {problem}; start it (see docs/scaling.md) |", flush=True)
        return 1 if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else 0
    for name, scale in scenarios(args):
        figures = harness.run(scale, postgres_url=args.postgres, redis_url=args.redis)
        print("\n".join(rows(name, figures)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
