"""Shared set-up for the benchmark scripts: an organisation in FakeXero, invoices, tables.

Each script imports this as ``_common`` (the script's own folder is first on ``sys.path``
when it is run as ``.venv/bin/python benchmarks/<name>.py``).
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bms_xero import Customer, Invoice, LineItem, SyncEngine
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero, InFlightRequest, RecordedRequest
from bms_xero.xero import MAX_BATCH, RateLimits, RetryPolicy, XeroClient

TAX_MAP = {"GST15": "OUTPUT2", "ZERO": "ZERORATEDOUTPUT"}
#: Reference reads a fresh engine makes before its first write: accounts, tax rates, and the
#: organisation (its ShortCode makes the deep links).
REFERENCE_READS = 3
BATCH = MAX_BATCH  # invoices per write request
PAGE = 1000  # records per read page
#: Pacing out of the way, for CPU figures (the fake is built with matching limits).
UNLIMITED = RateLimits(per_minute=1_000_000_000, concurrent=5)
HUGE = 1_000_000_000


def make_fake(*, unlimited: bool = False, seed: int = 1, clock: Any = None) -> FakeXero[Any]:
    """An organisation with two revenue accounts and two tax rates.

    Xero's limits (60/min, 5 in flight, 5,000/day) unless ``unlimited``; ``clock`` is the
    fake's (a ``FakeClock`` that only a client in the same process moves, by default).
    """
    limits: dict[str, int] = (
        {"minute_limit": HUGE, "day_limit": HUGE, "app_minute_limit": HUGE} if unlimited else {}
    )
    xero = FakeXero(seed=seed, short_code="!Bench", clock=clock, **limits)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="260", name="Other Revenue", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    xero.add_tax_rate(tax_type="ZERORATEDOUTPUT", name="Zero Rated", rate=Decimal("0"))
    return xero


def make_customers(xero: FakeXero[Any], count: int) -> list[Customer]:
    """``count`` customers, each already linked to a contact in the fake."""
    return [
        Customer(
            id=f"C-{n}",
            name=f"Customer {n}",
            xero_contact_id=xero.add_contact(name=f"Customer {n}", contact_number=f"C-{n}"),
        )
        for n in range(1, count + 1)
    ]


def make_invoice(customer: Customer, n: int, *, variant: int = 0) -> Invoice:
    """A realistic invoice: three lines, 2- and 4-dp prices, two tax codes.

    A different ``variant`` changes the first line's quantity (a correction).
    """
    return Invoice(
        id=f"I-{n}",
        number=f"INV-{n:06d}",
        customer=customer,
        issue_date=date(2026, 1, 5) + timedelta(days=n % 28),
        due_date=date(2026, 2, 5) + timedelta(days=n % 28),
        reference=f"PO {n}",
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal(2 + n % 5 + variant),
                unit_amount=Decimal("49.95"),
                account_code="200",
                tax_code="GST15",
            ),
            LineItem(
                description="Fixings",
                quantity=Decimal("12.5"),
                unit_amount=Decimal("0.3375"),
                account_code="200",
                tax_code="GST15",
                discount_rate=Decimal("10"),
            ),
            LineItem(
                description="Freight",
                quantity=Decimal("1"),
                unit_amount=Decimal("15.00"),
                account_code="260",
                tax_code="ZERO",
            ),
        ),
    )


def make_invoices(customers: Sequence[Customer], count: int, *, start: int = 1) -> list[Invoice]:
    """``count`` invoices spread round-robin over the customers."""
    return [
        make_invoice(customers[(n - start) % len(customers)], n)
        for n in range(start, start + count)
    ]


def make_engine(
    xero: FakeXero[Any], store: Any = None, *, unlimited: bool = False, **kwargs: Any
) -> SyncEngine:
    """A fresh engine (as a new process would build) over ``store`` and the fake."""
    client_kwargs: dict[str, Any] = {"retry": RetryPolicy.seeded(7)}
    if unlimited:
        client_kwargs["limits"] = UNLIMITED
    return SyncEngine(
        client=xero.client(**client_kwargs),
        store=store if store is not None else MemoryStore(),
        tax_map=TAX_MAP,
        clock=xero.clock,
        **kwargs,
    )


def accounting(requests: Iterable[RecordedRequest]) -> list[RecordedRequest]:
    """The accounting API's requests (token and connection calls are counted apart)."""
    return [r for r in requests if r.api == "accounting"]


def writes(requests: Iterable[RecordedRequest]) -> int:
    return sum(1 for r in accounting(requests) if r.method in ("PUT", "POST"))


def reads(requests: Iterable[RecordedRequest], *paths: str) -> int:
    return sum(1 for r in accounting(requests) if r.method == "GET" and r.path in paths)


def throttled(requests: Iterable[RecordedRequest]) -> int:
    """How many answers were 429s."""
    return sum(1 for r in requests if r.status == 429)


def batches(count: int, size: int = BATCH) -> int:
    return math.ceil(count / size) if count else 0


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (pastes straight into docs/performance.md)."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    # The first column names the row: left-aligned; figures right-aligned.
    lines.extend(
        "| "
        + " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        + " |"
        for row in cells[1:]
    )
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Latency:
    """FakeXero's in-flight hook: holds each request ``seconds`` (on ``sleep``'s clock) while
    counting how many are in flight at once (``most``)."""

    def __init__(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.seconds = seconds
        self.most = 0
        self._sleep = sleep
        self._now = 0
        self._lock = threading.Lock()

    def __call__(self, _request: InFlightRequest) -> None:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        self._sleep(self.seconds)
        with self._lock:
            self._now -= 1


# --- FakeXero in a process of its own ------------------------------------------------------------


def serve_child(xero: FakeXero[Any], **details: Any) -> int:
    """The body of a script's ``--serve`` child: serve ``xero`` over loopback HTTP, print one
    JSON line saying how to reach it (with ``details``), then wait for stdin to close (the
    parent ends this process by closing it)."""
    from bms_xero.testing import serve

    server = serve(xero)
    reach = {
        "api_url": server.api_url,
        "token_url": server.token_url,
        "connections_url": server.connections_url,
        "client_id": xero.client_id,
        "client_secret": xero.client_secret,
        "tenant_id": xero.tenant_id,
    }
    print(json.dumps({**reach, **details}), flush=True)
    sys.stdin.read()
    server.close()
    return 0


@contextlib.contextmanager
def served(script: str, *arguments: str) -> Iterator[dict[str, Any]]:
    """Run ``script --serve *arguments`` (whose ``--serve`` calls :func:`serve_child`) and
    yield what it printed; the child ends when the block does."""
    server = subprocess.Popen(
        [sys.executable, script, "--serve", *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise SystemExit("the FakeXero child ended before saying where it listens")
        yield json.loads(line)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def remote_client(fake: dict[str, Any], tenant_id: str | None = None, **kwargs: Any) -> XeroClient:
    """A client of the served fake (``fake`` as :func:`served` yields it), for ``tenant_id``
    (the fake's first organisation by default)."""
    return XeroClient.from_client_credentials(
        fake["client_id"],
        fake["client_secret"],
        tenant_id=tenant_id or fake["tenant_id"],
        token_url=fake["token_url"],
        api_url=fake["api_url"],
        connections_url=fake["connections_url"],
        retry=RetryPolicy.seeded(7),
        **kwargs,
    )
