"""CPU: invoices per second through mapping and serialisation, through the whole engine, and
through the official ``xero-python`` SDK building and serialising the same invoices.

Run from the repository root::

    .venv/bin/pip install -e '.[bench]'      # once: installs xero-python
    .venv/bin/python benchmarks/cpu.py [--quick]

Rows, each the best of five rounds over the same invoices (three lines each):

- ``bms_xero mapping + JSON``: ``invoice_payload`` for each invoice, then ``encode_json`` of
  each 50-invoice request body (exact Decimals);
- ``xero-python models + JSON``: the same invoices built as ``xero_python.accounting``
  ``Invoice``/``LineItem``/``Contact`` models in an ``Invoices`` body, serialised the way the SDK
  does before sending (``api_client.serializer.serialize``, which older releases call
  ``ApiClient.sanitize_for_serialization``) and ``json.dumps``;
- ``bms_xero engine + FakeXero``: ``SyncEngine.push_many`` of fresh invoices into a fresh
  FakeXero with limits out of the way: preflight, mapping, the intent and result writes to a
  MemoryStore, the HTTP client, and the fake's own validation, totals and storage.

It also reports, from one push under cProfile, the microseconds per invoice spent writing
JSON and the engine-side CPU per invoice (everything but FakeXero answering).

Without xero-python installed the script says so and prints the bms_xero rows. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from collections.abc import Callable, Sequence
from typing import Any

import _common as c

from bms_xero import Invoice
from bms_xero.mapping.wire import encode_json, invoice_payload, invoices_body
from bms_xero.storage import MemoryStore

ROUNDS = 5


def best_rate(run: Callable[[], object], count: int, rounds: int = ROUNDS) -> float:
    """Invoices per second in the fastest of ``rounds`` runs."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def ours(invoices: Sequence[Invoice]) -> list[bytes]:
    bodies = []
    for start in range(0, len(invoices), c.BATCH):
        chunk = invoices[start : start + c.BATCH]
        bodies.append(encode_json(invoices_body(invoice_payload(i, c.TAX_MAP) for i in chunk)))
    return bodies


def sdk_serialiser() -> Callable[[Any], Any] | str:
    """The SDK's own serialiser, or why it can't be used here."""
    try:
        from xero_python.api_client import ApiClient
    except ImportError as e:
        return (
            f"xero-python is not installed ({e}), so only bms_xero's figures are shown; "
            "install the bench extra: pip install -e '.[bench]'"
        )
    legacy = getattr(ApiClient, "sanitize_for_serialization", None)
    if legacy is not None:  # releases before the serializer module
        client = ApiClient()
        return client.sanitize_for_serialization  # type: ignore[no-any-return]
    from xero_python.api_client.serializer import serialize

    return serialize  # type: ignore[no-any-return]


def theirs(invoices: Sequence[Invoice], serialise: Callable[[Any], Any]) -> list[str]:
    from xero_python.accounting import Contact, LineAmountTypes, LineItem
    from xero_python.accounting import Invoice as SdkInvoice
    from xero_python.accounting import Invoices as SdkInvoices

    bodies = []
    for start in range(0, len(invoices), c.BATCH):
        models = [
            SdkInvoice(
                type="ACCREC",
                contact=Contact(contact_id=i.customer.xero_contact_id),
                invoice_number=i.number,
                reference=i.reference,
                date=i.issue_date,
                due_date=i.due_date,
                line_amount_types=LineAmountTypes.EXCLUSIVE,
                status="AUTHORISED",
                line_items=[
                    LineItem(
                        description=line.description,
                        quantity=line.quantity,
                        unit_amount=line.unit_amount,
                        account_code=line.account_code,
                        tax_type=c.TAX_MAP[line.tax_code or ""],
                        discount_rate=line.discount_rate,
                    )
                    for line in i.lines
                ],
            )
            for i in invoices[start : start + c.BATCH]
        ]
        bodies.append(json.dumps(serialise(SdkInvoices(invoices=models))))
    return bodies


def engine_rate(count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        xero = c.make_fake(unlimited=True)
        invoices = c.make_invoices(c.make_customers(xero, 1), count)
        engine = c.make_engine(xero, MemoryStore(), unlimited=True)
        engine.organisation()  # reference reads and the token are not per-invoice work
        start = time.perf_counter()
        outcomes = engine.push_many(invoices)
        best = min(best, time.perf_counter() - start)
        if not all(o.ok for o in outcomes):
            raise SystemExit("a push failed; the engine figure would be meaningless")
    return count / best


def profiled_push(count: int) -> tuple[float, float, float]:
    """One engine push under cProfile: (FakeXero's share of the CPU, microseconds of JSON
    encoding per invoice, microseconds of engine-side CPU per invoice)."""
    xero = c.make_fake(unlimited=True)
    invoices = c.make_invoices(c.make_customers(xero, 1), count + 1)
    engine = c.make_engine(xero, MemoryStore(), unlimited=True)
    engine.push_many(invoices[:1])  # the token and the reference data are not per invoice
    profile = cProfile.Profile()
    profile.runcall(engine.push_many, invoices[1:])
    # {(file, line, name): (calls, primitive calls, tottime, cumtime, callers)}
    stats: Any = pstats.Stats(profile).stats
    total = sum(entry[2] for entry in stats.values())
    fake = sum(
        entry[3]
        for (file, _, name), entry in stats.items()
        if file.endswith("bms_xero/testing/_fake.py") and name == "handle_request"
    )
    encoding = sum(
        entry[3]
        for (file, _, name), entry in stats.items()
        if file.endswith("bms_xero/mapping/wire.py") and name == "encode_json"
    )
    if not total:
        return 0.0, 0.0, 0.0
    return fake / total, encoding / count * 1e6, (total - fake) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="invoices per second, bms_xero vs xero-python")
    parser.add_argument("--quick", action="store_true", help="fewer invoices and rounds")
    args = parser.parse_args(argv)
    count = 500 if args.quick else 5_000
    rounds = 2 if args.quick else ROUNDS
    xero = c.make_fake(unlimited=True)
    invoices = c.make_invoices(c.make_customers(xero, 20), count)

    rows: list[list[object]] = []
    mapping = best_rate(lambda: ours(invoices), count, rounds)
    rows.append(["bms_xero mapping + JSON", count, f"{mapping:,.0f}", "1.00"])
    serialise = sdk_serialiser()
    sdk: float | None = None
    if isinstance(serialise, str):
        note = serialise
    else:
        sdk = best_rate(lambda: theirs(invoices, serialise), count, rounds)
        rows.append(["xero-python models + JSON", count, f"{sdk:,.0f}", f"{sdk / mapping:.2f}"])
        price = json.loads(theirs(invoices[:1], serialise)[0])["Invoices"][0]["LineItems"][1]
        note = (
            "xero-python turns Decimal amounts into floats before json.dumps (the 0.3375 unit "
            f"price is sent as a JSON {type(price['UnitAmount']).__name__}); bms_xero writes "
            "each Decimal's digits."
        )
    whole = engine_rate(count, rounds)
    rows.append(["bms_xero engine + FakeXero", count, f"{whole:,.0f}", f"{whole / mapping:.2f}"])
    share, encoding, engine_side = profiled_push(min(count, 1_000))
    rows.append(
        [
            "bms_xero engine alone (FakeXero's share removed)",
            count,
            f"{whole / (1 - share):,.0f}",
            f"{whole / (1 - share) / mapping:.2f}",
        ]
    )

    print(f"CPU: invoices per second (3 lines each, best of {rounds} rounds)\n")
    print(c.table(["path", "invoices", "invoices / s", "vs bms_xero mapping"], rows))
    if sdk is not None:
        print(
            f"\nbms_xero mapping + JSON runs at {mapping / sdk:.2f}x the speed of xero-python "
            "building and serialising the same invoices."
        )
    print(
        f"\nFakeXero answering (FakeTransport.handle_request and all it calls) took {share:.0%} "
        "of the engine run's CPU under cProfile; the last row removes that share."
    )
    print(
        f"\nUnder cProfile, a push spent {encoding:,.0f} us per invoice writing JSON "
        f"(encode_json) and {engine_side:,.0f} us per invoice of CPU outside FakeXero."
    )
    print(f"\nNote: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
