"""Run the whole scale-out example on this machine, killing workers at random, and measure it.

What the README starts by hand, in one call: a fake Xero with several organisations
(:mod:`fake_orgs`, in this process so its counts can be read), a PostgreSQL database of the
run's own, Redis as the broker and the shared rate budget (keys under a prefix of the run's
own), the host releasing invoices (``bms_host.py enqueue``), and ``celery -A bms_host worker``
processes, some of which are SIGKILLed (the whole process group: the worker and its pool)
and started again while they work. ``tests/integrations/test_scale_out.py`` asserts on what
:func:`run` returns; ``benchmarks/scale_out.py`` prints it for larger runs.

    python harness.py --invoices 1500 --workers 4   # from examples/scale_out/
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import attrs

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fake_orgs import FakeOrgs  # noqa: E402  (this directory, put on sys.path above)


@attrs.frozen(kw_only=True)
class Scale:
    """How big a run is.

    Attributes:
        invoices: Invoices in total, shared equally by the organisations.
        orgs: Organisations.
        workers: ``celery worker`` processes.
        concurrency: Pool processes of each worker (``-c``).
        batch_size: Pushes sent per request.
        latency: Seconds each request to the fake stays in flight.
        kill_every: Seconds between two SIGKILLs, drawn between these bounds; ``None``
            kills nothing.
        lease_seconds: How long a job leased by a killed worker waits before another takes
            it over.
        visibility_timeout: How long a message a killed worker held waits before Redis
            delivers it again.
        timeout: Seconds the run may take before it is given up.
        seed: Seeds the fake's ids and which worker is killed when.
        shared_budget: One rate budget per organisation in Redis for every worker; ``False``
            gives each process its own (what the shared budget prevents: 429s).
    """

    invoices: int = 1500
    orgs: int = 3
    workers: int = 4
    concurrency: int = 2
    batch_size: int = 50
    latency: float = 0.2
    kill_every: tuple[float, float] | None = (4.0, 8.0)
    lease_seconds: float = 15.0
    visibility_timeout: float = 20.0
    timeout: float = 240.0
    seed: int = 15
    shared_budget: bool = True


@attrs.frozen(kw_only=True)
class Figures:
    """What a run did.

    Attributes:
        scale: The run's size.
        seconds: From the first worker's start until every job was done.
        finished: Whether every job was done before the timeout.
        kills: Workers SIGKILLed (and started again).
        jobs: Jobs by status at the end (every tenant).
        orgs: Per organisation, what the fake saw (:meth:`FakeOrgs.report`).
    """

    scale: Scale
    seconds: float
    finished: bool
    kills: int
    jobs: dict[str, int]
    orgs: dict[str, dict[str, Any]]

    def summary(self) -> str:
        """A few lines for people: time, kills, and each organisation against its floor."""
        lines = [
            f"{self.scale.invoices} invoices, {self.scale.orgs} organisations, "
            f"{self.scale.workers} workers x {self.scale.concurrency} processes, "
            f"batches of {self.scale.batch_size}, {self.scale.latency:g} s per request"
            f"{'' if self.scale.shared_budget else ', NO shared rate budget'}: "
            f"{'all done' if self.finished else 'NOT finished'} in {self.seconds:.1f} s, "
            f"{self.kills} workers SIGKILLed; jobs {dict(sorted(self.jobs.items()))}",
        ]
        for n, report in enumerate(self.orgs.values(), start=1):
            lines.append(
                f"  org {n}: {report['invoices']} invoices ({len(report['duplicates'])} "
                f"duplicated), {report['requests']} requests ({report['writes']} writes), "
                f"{report['rate_limited']} x 429, at most {report['peak_in_flight']} in "
                f"flight; busy {report['busy_minutes']:.2f} min against a floor of "
                f"{report['floor_minutes']} min"
            )
        return "\n".join(lines)


def database_url(server_url: str, name: str) -> str:
    """``server_url`` (a libpq URL) pointing at database ``name``."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped afterwards; yields its URL."""
    import psycopg

    name = f"bms_xero_scale_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix for one run (broker queues, the rate budget); its keys are deleted
    afterwards."""
    import redis

    prefix = f"bms-xero-scale-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        try:
            for pattern in (f"{prefix}*", "{" + f"{prefix}*"):  # the broker's, the budget's
                for key in client.scan_iter(match=pattern, count=1000):
                    client.delete(key)
        finally:
            client.close()


#: libc, loaded before any worker is forked (a forked child must not import).
_LIBC = ctypes.CDLL(None) if sys.platform.startswith("linux") else None


def _die_with_harness() -> None:
    """In a worker, between fork and exec (Linux): die if the harness does, so a harness
    killed mid-run leaves no worker behind (each has a session of its own)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Workers:
    """The ``celery worker`` processes, each in a process group of its own."""

    def __init__(self, env: dict[str, str], queues: list[str], scale: Scale, logs: Path) -> None:
        self._env = env
        self._queues = queues
        self._scale = scale
        self._logs = logs
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * scale.workers
        self._files: list[IO[bytes]] = []

    def start(self, index: int) -> None:
        log = (self._logs / f"worker-{index}.log").open("ab")
        self._files.append(log)
        self._procs[index] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bms_host",
                "worker",
                "-c",
                str(self._scale.concurrency),
                "-Q",
                ",".join(self._queues),
                "-n",
                f"w{index}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
            cwd=HERE,
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a kill takes the pool with it
            preexec_fn=_die_with_harness,
        )

    def kill(self, index: int) -> None:
        """SIGKILL the worker and its pool processes at once (nothing gets to clean up)."""
        proc = self._procs[index]
        if proc is not None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Ask every worker to stop (SIGTERM), then kill what is left after 15 s."""
        for proc in self._procs:
            if proc is not None and proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for index, proc in enumerate(self._procs):
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(index)
            with suppress(ProcessLookupError, PermissionError):  # a pool left behind
                os.killpg(proc.pid, signal.SIGKILL)
        for log in self._files:
            log.close()


def _job_counts(database: str) -> Counter[str]:
    from bms_xero.jobs import PostgresJobStore

    with PostgresJobStore(database) as jobs:
        return Counter(j.status.value for j in jobs.list_jobs(limit=10_000_000))


def run(scale: Scale, *, postgres_url: str, redis_url: str, logs: Path | None = None) -> Figures:
    """One run at ``scale`` on the servers given; returns its figures.

    Args:
        scale: How big.
        postgres_url: A libpq URL of a server where this run may create (and drop) a
            database of its own.
        redis_url: The Redis for the broker and the rate budget (keys under a new prefix).
        logs: Where the workers' logs go (default: a temporary directory).
    """
    per_org, extra = divmod(scale.invoices, scale.orgs)
    if extra:
        raise ValueError(f"invoices ({scale.invoices}) must divide among {scale.orgs} orgs")
    pick = random.Random(scale.seed)  # noqa: S311 (which worker dies when, reproducibly)
    with ExitStack() as cleanup:
        scratch = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bms-xero-scale-"))
        database = cleanup.enter_context(fresh_database(postgres_url))
        prefix = cleanup.enter_context(key_prefix(redis_url))
        fake = FakeOrgs(scale.orgs, latency=scale.latency, seed=scale.seed)
        cleanup.callback(fake.close)
        where = Path(logs or scratch)
        where.mkdir(parents=True, exist_ok=True)
        orgs_file = Path(scratch) / "orgs.json"
        fake.write(orgs_file)
        env = {
            **os.environ,
            "BMS_XERO_ORGS": str(orgs_file),
            "BMS_DATABASE_URL": database,
            "BMS_BROKER_URL": redis_url,
            "BMS_BUDGET_URL": redis_url if scale.shared_budget else "none",
            "BMS_KEY_PREFIX": prefix,
            "BMS_LEASE_SECONDS": str(scale.lease_seconds),
            "BMS_VISIBILITY_TIMEOUT": str(scale.visibility_timeout),
            "BMS_BATCH_SIZE": str(scale.batch_size),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        released = subprocess.run(
            [sys.executable, "bms_host.py", "enqueue", "--count", str(per_org)],
            cwd=HERE,
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        if released.returncode:
            raise RuntimeError(f"bms_host.py enqueue failed:\n{released.stderr[-3000:]}")
        queues = [f"bms_xero.{t}" for t in fake.tenants] + ["celery"]
        workers = _Workers(env, queues, scale, where)
        kills = 0
        started = time.monotonic()
        finished = False
        try:
            for index in range(scale.workers):
                workers.start(index)
            next_kill = (
                None if scale.kill_every is None else started + pick.uniform(*scale.kill_every)
            )
            while time.monotonic() - started < scale.timeout:
                counts = _job_counts(database)
                if counts["done"] == scale.invoices:
                    finished = True
                    break
                if next_kill is not None and time.monotonic() >= next_kill:
                    victim = pick.randrange(scale.workers)
                    workers.kill(victim)
                    kills += 1
                    workers.start(victim)
                    assert scale.kill_every is not None
                    next_kill = time.monotonic() + pick.uniform(*scale.kill_every)
                time.sleep(0.5)
            seconds = time.monotonic() - started
        finally:
            workers.stop()
        jobs = dict(_job_counts(database))
        report = fake.report()
    return Figures(
        scale=scale, seconds=seconds, finished=finished, kills=kills, jobs=jobs, orgs=report
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-kills", action="store_true", help="kill no worker")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    scale = Scale(
        invoices=args.invoices,
        workers=args.workers,
        concurrency=args.concurrency,
        kill_every=None if args.no_kills else (4.0, 8.0),
    )
    figures = run(scale, postgres_url=args.postgres, redis_url=args.redis)
    print(json.dumps(attrs.asdict(figures), indent=2) if args.json else figures.summary())
    return 0 if figures.finished else 1


if __name__ == "__main__":
    sys.exit(main())
