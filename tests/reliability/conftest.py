"""Shared pieces of the reliability suite: fault doubles, the tally, the secret watch.

- :class:`Steps` and :class:`Crashing`: wrap a store, job store or invoice source so the
  process "dies" (a :class:`Crash`, a BaseException nothing in bms_xero catches) at the k-th
  call of any wrapped method, counted across every wrapped object.
- :class:`Tally`: counters for the whole session (faults injected, duplicates, lost invoices
  and payments, typed errors); printed as a table at the end of the run when reliability
  tests ran, so the figures show in CI output.
- :class:`SecretWatch`: every log record (root logger at DEBUG while a reliability test
  runs) and every exception and repr the tests saw, scanned for the fake's client secret,
  the access and refresh tokens it issued and the webhook keys used. A leak fails the test
  that produced it.

``BMS_XERO_SOAK=1`` runs many more hypothesis examples (see :func:`examples`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest

from bms_xero import Customer, Invoice, SyncEngine
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy, XeroClient
from tests.engine.conftest import TAX_MAP, make_invoice, make_xero

SOAK = os.environ.get("BMS_XERO_SOAK") == "1"


def examples(default: int, soak: int) -> int:
    """Hypothesis examples: a CI-sized default, many more under ``BMS_XERO_SOAK=1``."""
    return soak if SOAK else default


# --- crashes ---------------------------------------------------------------------------------


class Crash(BaseException):
    """The process dying between two steps (nothing in bms_xero catches a BaseException)."""


class Steps:
    """Counts calls across every :class:`Crashing` wrapper and crashes at call ``crash_at``."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.crash_at = crash_at
        self.count = 0
        self.crashed = False
        self._lock = threading.Lock()

    def tick(self, name: str) -> None:
        with self._lock:
            if self.crashed:  # a dead process does nothing more, in any of its threads
                raise Crash(f"already crashed at step {self.crash_at} ({name})")
            self.count += 1
            if self.crash_at is not None and self.count == self.crash_at:
                self.crashed = True
                raise Crash(f"crashed at step {self.count} ({name})")


#: The calls that change something, per role: where a crash can split a push or a pull.
STORE_STEPS = ("put", "put_many", "set_cursor", "set_contact_id")
JOB_STEPS = ("lease", "complete", "fail", "release", "park_tenant")
SOURCE_STEPS = ("get",)


class Crashing:
    """Delegates to ``inner``; each call of a method in ``names`` is a step of ``steps``."""

    def __init__(self, inner: Any, steps: Steps, names: Iterable[str]) -> None:
        self._inner = inner
        self._steps = steps
        self._names = frozenset(names)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._names:
            return value

        def step(*args: Any, **kwargs: Any) -> Any:
            self._steps.tick(name)
            return value(*args, **kwargs)

        return step


# --- the tally -------------------------------------------------------------------------------


@attrs.define
class Tally:
    """What the reliability suite saw, summed over the session."""

    tests: int = 0
    schedules: int = 0
    faults_injected: int = 0
    throttled: int = 0
    crashes: int = 0
    invoices: int = 0
    duplicates: int = 0
    lost_invoices: int = 0
    paid_invoices: int = 0
    lost_payments: int = 0
    failed_jobs: int = 0
    unnamed_failed_jobs: int = 0
    typed_errors: int = 0
    untyped_errors: int = 0
    money_events: int = 0
    sink_refusals: int = 0
    told_checked: int = 0
    told_wrong: int = 0
    log_records: int = 0
    texts_scanned: int = 0
    secrets_known: int = 0
    secret_leaks: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def rows(self) -> list[tuple[str, int]]:
        return [
            ("fault schedules run", self.schedules),
            ("faults injected (timeouts, 5xx, resets, ...)", self.faults_injected),
            ("429s answered (minute and day)", self.throttled),
            ("worker/process crashes", self.crashes),
            ("invoices pushed through storms", self.invoices),
            ("duplicate Xero invoices", self.duplicates),
            ("lost invoices", self.lost_invoices),
            ("paid invoices checked", self.paid_invoices),
            ("lost payments", self.lost_payments),
            ("failed job records", self.failed_jobs),
            ("failed jobs not naming their invoice", self.unnamed_failed_jobs),
            ("typed errors (bad input)", self.typed_errors),
            ("untyped errors (bad input)", self.untyped_errors),
            ("money events made in Xero", self.money_events),
            ("sink refusals (host raised)", self.sink_refusals),
            ("invoices checked: sink told == Xero", self.told_checked),
            ("sink out of step with Xero", self.told_wrong),
            ("log records scanned for secrets", self.log_records),
            ("reprs/errors scanned for secrets", self.texts_scanned),
            ("secrets watched", self.secrets_known),
            ("secret leaks", self.secret_leaks),
        ]


TALLY = pytest.StashKey[Tally]()
WATCH = pytest.StashKey["SecretWatch"]()


# --- the secret watch ------------------------------------------------------------------------


class _Capture(logging.Handler):
    def __init__(self, watch: SecretWatch) -> None:
        super().__init__(logging.DEBUG)
        self._watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage(), repr(record.args)]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            parts += [str(error), repr(error)]
        self._watch.records.append(" ".join(parts))


class SecretWatch:
    """Secrets the suite used, and everything it produced that a secret must not reach."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.records: list[str] = []
        self.texts: list[str] = []
        self._lock = threading.Lock()

    def secret(self, *values: str | None) -> None:
        """Watch these values (at least 12 characters: shorter ones would match by chance)."""
        with self._lock:
            self.secrets.update(v for v in values if v and len(v) >= 12)

    def saw(self, *objects: object) -> None:
        """Remember the str and repr of errors and objects the tests produced."""
        with self._lock:
            for obj in objects:
                self.texts.append(f"{obj}\n{obj!r}")
                if isinstance(obj, BaseException):
                    self.texts.append(" ".join(repr(a) for a in obj.args))

    def watch_fake(self, xero: FakeXero[Any]) -> None:
        self.secret(xero.client_secret)

    def leaks(self, since: tuple[int, int] = (0, 0)) -> list[tuple[str, str]]:
        """Each leak as (where: ``log`` or ``text``, the start of the text holding it), in the
        records and texts from index ``since`` (records, texts) on."""
        with self._lock:
            secrets = sorted(self.secrets)
        # Index secrets by their first characters, then slide over each text once: scanning
        # every text for every secret costs minutes in soak mode.
        width = min((len(x) for x in secrets), default=0)
        index: dict[str, list[str]] = {}
        for secret in secrets:
            index.setdefault(secret[:width], []).append(secret)
        haystacks = [("log", r) for r in self.records[since[0] :]]
        haystacks += [("text", t) for t in self.texts[since[1] :]]
        found = []
        for where, text in haystacks if width else []:
            hits = {
                secret
                for i in range(len(text) - width + 1)
                for secret in index.get(text[i : i + width], ())
                if text.startswith(secret, i)
            }
            found += [(where, text[:120].replace(x, f"<{x[:4]}...>")) for x in sorted(hits)]
        return found


class TokenRecorder(httpx.BaseTransport):
    """Passes requests to the fake, remembering every token the identity service issues."""

    def __init__(self, inner: httpx.BaseTransport, watch: SecretWatch) -> None:
        self._inner = inner
        self._watch = watch

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.path == "/connect/token" and response.status_code == 200:
            body = json.loads(response.read())
            self._watch.secret(body.get("access_token"), body.get("refresh_token"))
        return response


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Tally()
    config.stash[WATCH] = SecretWatch()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if tally is None or not tally.tests:
        return
    watch = config.stash[WATCH]
    tally.log_records = len(watch.records)
    tally.texts_scanned = len(watch.texts)
    tally.secrets_known = len(watch.secrets)
    terminalreporter.section("bms_xero reliability summary")
    width = max(len(name) for name, _ in tally.rows())
    for name, value in tally.rows():
        terminalreporter.write_line(f"{name:<{width}}  {value:>9,}")
    if SOAK:
        terminalreporter.write_line("(soak mode: BMS_XERO_SOAK=1)")


@pytest.fixture(name="tally")
def _tally(request: pytest.FixtureRequest) -> Tally:
    return request.config.stash[TALLY]


@pytest.fixture(name="watch")
def _watch(request: pytest.FixtureRequest) -> SecretWatch:
    """The session's secret watch (every reliability test runs under it, see below)."""
    return request.config.stash[WATCH]


@pytest.fixture(autouse=True)
def _watched(tally: Tally, watch: SecretWatch) -> Iterator[None]:
    """Capture every log record at DEBUG while the test runs; fail it if a secret leaked.

    The records and texts stay in the watch for the session; the summary counts them.
    """
    tally.add(tests=1)
    handler = _Capture(watch)
    root = logging.getLogger()
    level = root.level
    first_record, first_text = len(watch.records), len(watch.texts)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    leaks = watch.leaks(since=(first_record, first_text))
    tally.add(secret_leaks=len(leaks))
    assert [] == leaks, "a secret reached a log record, a repr or an error"


# --- building blocks -------------------------------------------------------------------------


def watched_client(xero: FakeXero[Any], watch: SecretWatch, **kwargs: Any) -> XeroClient:
    """A client of the fake whose issued tokens are added to the watch."""
    watch.watch_fake(xero)
    kwargs.setdefault("retry", RetryPolicy.seeded(7))
    return XeroClient.from_client_credentials(
        xero.client_id,
        xero.client_secret,
        http_client=httpx.Client(transport=TokenRecorder(xero.transport, watch)),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        **kwargs,
    )


def engine_for(
    xero: FakeXero[Any], store: Any, watch: SecretWatch, sink: Any = None, **kwargs: Any
) -> SyncEngine:
    """An engine over ``store`` (as a freshly started process builds it)."""
    return SyncEngine(
        client=watched_client(xero, watch, **kwargs),
        store=store,
        tax_map=TAX_MAP,
        payment_sink=sink,
        clock=xero.clock,
    )


def organisation(seed: int, **limits: Any) -> tuple[FakeXero[Any], Customer]:
    """The engine tests' organisation, with one customer linked to a contact."""
    xero = make_xero(seed=seed, **limits)
    return xero, Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))


def invoices_for(customer: Customer, count: int) -> list[Invoice]:
    return [make_invoice(customer, n) for n in range(1, count + 1)]


@attrs.frozen
class Check:
    """What a finished storm left behind."""

    duplicates: int
    lost_invoices: int
    paid: int
    lost_payments: int


def check_xero(xero: FakeXero[Any], store: Any, invoices: list[Invoice]) -> Check:
    """Count duplicates and lost invoices in the fake, and payments missing from the store."""
    held: dict[str, list[dict[str, Any]]] = {}
    for stored in xero.invoices():
        held.setdefault(stored["InvoiceNumber"], []).append(stored)
    duplicates = sum(len(v) - 1 for v in held.values())
    lost = sum(1 for inv in invoices if inv.number not in held)
    paid = lost_payments = 0
    for inv in invoices:
        for stored in held.get(inv.number, []):
            amount = Decimal(str(stored["AmountPaid"]))
            if not amount:
                continue
            paid += 1
            record = store.get(xero.tenant_id, inv.id)
            if record is None or record.amount_paid != amount:
                lost_payments += 1
    return Check(duplicates, lost, paid, lost_payments)


def faults_seen(xero: FakeXero[Any]) -> tuple[int, int]:
    """(injected faults, 429 answers) in the fake's request log."""
    log = xero.requests
    return sum(1 for r in log if r.fault is not None), sum(1 for r in log if r.status == 429)
