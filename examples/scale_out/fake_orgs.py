"""FakeXero with several organisations on loopback, and what it saw, for the scale-out example.

``bms-xero fake-server`` serves one organisation; a scale-out run needs several (Xero's limits
are per organisation) and a way to read back what the fake saw, per organisation: requests,
429s, the most requests it had in flight at once, and whether any invoice number is there
twice. The fake runs on the real clock, so its minute windows reset as Xero's do, and enforces
Xero's limits (5 in flight, 60 a minute, answering 429 past them).

Run it on its own (the README's first step)::

    python fake_orgs.py --orgs 3 --latency 0.2 --out orgs.json

It writes ``orgs.json`` (URLs, the fake's client credentials, each tenant id with its contact)
for ``bms_host.py`` to read, and prints its report as JSON when stopped (Ctrl+C or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from bms_xero.clock import SystemClock
from bms_xero.testing import FakeServer, FakeXero, InFlightRequest, serve


class FakeOrgs:
    """A running FakeXero holding ``orgs`` organisations, each with a revenue account, a 15%
    tax rate and one contact, served on loopback.

    Args:
        orgs: How many organisations.
        latency: Seconds each accounting request stays in flight (Xero is not instant; with
            0 the fake answers at once and nothing is ever in flight side by side).
        seed: Seed for ids and credentials.
        minute_limit: Calls per organisation per minute (Xero: 60).
    """

    def __init__(
        self,
        orgs: int = 3,
        *,
        latency: float = 0.0,
        seed: int | None = None,
        minute_limit: int = 60,
    ) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._flying: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.xero = FakeXero(
            SystemClock(), seed, minute_limit=minute_limit, in_flight_hook=self._in_flight
        )
        tenants = [self.xero.tenant_id] + [
            self.xero.add_tenant(name=f"Organisation {n}") for n in range(2, orgs + 1)
        ]
        self.contacts: dict[str, str] = {}
        for tenant in tenants:
            self.xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant)
            self.xero.add_tax_rate(
                tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"), tenant_id=tenant
            )
            self.contacts[tenant] = self.xero.add_contact(
                name="Acme Ltd", contact_number="C-1", tenant_id=tenant
            )
        self.started = time.time()
        self.server: FakeServer = serve(self.xero)

    def _in_flight(self, request: InFlightRequest) -> None:
        """Hold each request open for ``latency`` seconds, counting how many are open."""
        with self._lock:
            self._flying[request.tenant_id] += 1
            self.peak[request.tenant_id] = max(
                self.peak[request.tenant_id], self._flying[request.tenant_id]
            )
        try:
            if self.latency:
                time.sleep(self.latency)
        finally:
            with self._lock:
                self._flying[request.tenant_id] -= 1

    @property
    def tenants(self) -> list[str]:
        """The organisations' tenant ids."""
        return list(self.contacts)

    def details(self) -> dict[str, Any]:
        """What a host needs to reach the fake: URLs, credentials, tenants and contacts."""
        return {
            "url": self.server.url,
            "api_url": self.server.api_url,
            "token_url": self.server.token_url,
            "connections_url": self.server.connections_url,
            "client_id": self.xero.client_id,
            "client_secret": self.xero.client_secret,
            "tenants": self.contacts,
        }

    def write(self, path: Path) -> None:
        """Write :meth:`details` as JSON for ``bms_host.py`` (``BMS_XERO_ORGS``)."""
        path.write_text(json.dumps(self.details(), indent=2) + "\n")

    def report(self) -> dict[str, dict[str, Any]]:
        """Per organisation: accounting requests, 429s, the most in flight at once, invoices
        held, invoice numbers held more than once, and the minutes between its first and
        last request against the rate-limit floor (``ceil(requests / 60)`` minutes)."""
        calls = [r for r in self.xero.requests if r.api == "accounting"]
        result: dict[str, dict[str, Any]] = {}
        for tenant in self.tenants:
            mine = [r for r in calls if r.tenant_id == tenant]
            numbers = Counter(str(i["InvoiceNumber"]) for i in self.xero.invoices(tenant))
            span = (mine[-1].at - mine[0].at).total_seconds() if mine else 0.0
            result[tenant] = {
                "requests": len(mine),
                "writes": sum(1 for r in mine if r.method in ("PUT", "POST")),
                "rate_limited": sum(1 for r in mine if r.status == 429),
                "peak_in_flight": self.peak[tenant],
                "invoices": sum(numbers.values()),
                "duplicates": sorted(n for n, seen in numbers.items() if seen > 1),
                "busy_minutes": round(span / 60, 2),
                "floor_minutes": math.ceil(len(mine) / 60),
            }
        return result

    def close(self) -> None:
        """Stop serving."""
        self.server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=3, help="organisations (default 3)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--seed", type=int, default=None, help="seed ids and credentials")
    parser.add_argument("--out", type=Path, default=Path("orgs.json"), help="details file")
    args = parser.parse_args(argv)
    fake = FakeOrgs(args.orgs, latency=args.latency, seed=args.seed)
    fake.write(args.out)
    print(f"FakeXero with {args.orgs} organisations on {fake.server.url}; details in {args.out}")
    sys.stdout.flush()
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    while not stop.wait(0.5):
        pass
    print(json.dumps(fake.report(), indent=2))
    fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
