"""CPU: the write path (domain -> request bytes) and the read path (a page of Xero's JSON ->
domain values), each side by side with the official ``xero-python`` SDK and the stdlib floor;
then the whole engine.

Run from the repository root::

    .venv/bin/pip install -e '.[bench]'      # once: installs xero-python
    .venv/bin/python benchmarks/cpu.py [--quick]

Write rows, each the best of nine rounds over the same invoices (three lines each), in
50-invoice request bodies, the paths taken in turn within each round (so a busy spell on a
shared machine falls on all of them alike):

- ``bms_xero``: ``WireInvoice.of`` for each invoice, then ``invoices_request_body``: what a
  push does, exact Decimals included (the fingerprint's sha256 too);
- ``xero-python``: the same invoices built as ``xero_python.accounting``
  ``Invoice``/``LineItem``/``Contact`` models in an ``Invoices`` body, serialised the way the
  SDK does before sending (``api_client.serializer.serialize``, which older releases call
  ``ApiClient.sanitize_for_serialization``) and ``json.dumps``;
- ``json.dumps floor``: the same bodies already built as plain dicts (``invoice_payload``,
  amounts turned into floats), through ``json.dumps`` alone: the C encoder with nothing to
  map and no exact decimals, a floor no writer from domain objects can beat.

Read rows: one page of 1,000 invoices as FakeXero answers ``GET /Invoices`` (three lines,
contact, dates, amounts each):

- ``bms_xero``: ``decode_invoices``, the client's own decoder (JSON with exact Decimals, then
  ``XeroInvoice`` values);
- ``xero-python``: ``json.loads(..., parse_float=Decimal)`` then its ``deserialize`` into
  ``Invoices`` models, as ``ApiClient.deserialize`` does;
- ``json.loads`` floors: plain, and with ``parse_float=Decimal``.

Engine rows: ``SyncEngine.push_many`` of fresh invoices into a fresh FakeXero with limits out
of the way (preflight, mapping, the intent and result writes to a MemoryStore, the HTTP client,
and the fake's own validation, totals and storage); then one push with ``max_in_flight=1``
under cProfile (so the fake answers on the profiled thread) for the fake's share of the CPU,
the microseconds per invoice spent writing the elements, and the engine-side CPU per invoice.

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
from decimal import Decimal
from typing import Any

import _common as c
import httpx

from bms_xero import Invoice
from bms_xero.mapping import TaxMap
from bms_xero.mapping.wire import WireInvoice, invoice_payload, invoices_request_body
from bms_xero.storage import MemoryStore
from bms_xero.xero import XeroClient
from bms_xero.xero._decode import decode_invoices

ROUNDS = 9


def side_by_side(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The fastest of ``rounds`` runs of each, in seconds, taken in turn (one of each per
    round), so that a busy spell on a shared machine falls on every path alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def chunks(invoices: Sequence[Invoice]) -> list[Sequence[Invoice]]:
    return [invoices[start : start + c.BATCH] for start in range(0, len(invoices), c.BATCH)]


def ours(batches: Sequence[Sequence[Invoice]], taxes: TaxMap) -> list[bytes]:
    return [invoices_request_body([WireInvoice.of(i, taxes) for i in chunk]) for chunk in batches]


def _floats(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def floor_bodies(batches: Sequence[Sequence[Invoice]]) -> list[dict[str, Any]]:
    """The request bodies as plain dicts, amounts as floats: all json.dumps has to write."""
    return [{"Invoices": [_floats(invoice_payload(i, c.TAX_MAP)) for i in b]} for b in batches]


def dumps_floor(bodies: Sequence[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(body, separators=(",", ":")).encode() for body in bodies]


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


def theirs(batches: Sequence[Sequence[Invoice]], serialise: Callable[[Any], Any]) -> list[str]:
    from xero_python.accounting import Contact, LineAmountTypes, LineItem
    from xero_python.accounting import Invoice as SdkInvoice
    from xero_python.accounting import Invoices as SdkInvoices

    bodies = []
    for chunk in batches:
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
            for i in chunk
        ]
        bodies.append(json.dumps(serialise(SdkInvoices(invoices=models))))
    return bodies


class _Recorder(httpx.BaseTransport):
    """Keeps the body of the last answer that passed through."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.last = b""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.last = response.read()
        return response


def invoice_page(count: int) -> bytes:
    """FakeXero's answer to one ``GET /Invoices`` page of ``count`` pushed invoices."""
    xero = c.make_fake(unlimited=True)
    engine = c.make_engine(xero, MemoryStore(), unlimited=True)
    engine.push_many(c.make_invoices(c.make_customers(xero, 20), count))
    recorder = _Recorder(xero.transport)
    client = XeroClient.from_client_credentials(
        xero.client_id,
        xero.client_secret,
        http_client=httpx.Client(transport=recorder),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        limits=c.UNLIMITED,
    )
    next(iter(client.iter_invoices(page_size=count)))
    return recorder.last


def sdk_reader() -> Callable[[bytes], Any] | None:
    try:
        from xero_python.accounting import models
        from xero_python.api_client import ModelFinder
        from xero_python.api_client.deserializer import deserialize
    except ImportError:
        return None
    finder = ModelFinder(models)
    return lambda body: deserialize("Invoices", json.loads(body, parse_float=Decimal), finder)


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
    """One engine push under cProfile, one request at a time so FakeXero answers on the
    profiled thread: (FakeXero's share of the CPU, microseconds per invoice building the
    encoded elements, microseconds of engine-side CPU per invoice)."""
    xero = c.make_fake(unlimited=True)
    invoices = c.make_invoices(c.make_customers(xero, 1), count + 1)
    engine = c.make_engine(xero, MemoryStore(), unlimited=True, max_in_flight=1)
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
        if file.endswith("bms_xero/mapping/_write.py") and name == "invoice_element"
    )
    if not total:
        return 0.0, 0.0, 0.0
    return fake / total, encoding / count * 1e6, (total - fake) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="invoices per second, bms_xero vs xero-python")
    parser.add_argument("--quick", action="store_true", help="fewer invoices and rounds")
    args = parser.parse_args(argv)
    count = 500 if args.quick else 5_000
    page = 200 if args.quick else 1_000
    rounds = 2 if args.quick else ROUNDS
    xero = c.make_fake(unlimited=True)
    batches = chunks(c.make_invoices(c.make_customers(xero, 20), count))
    taxes = TaxMap(c.TAX_MAP)

    serialise = sdk_serialiser()
    bodies = floor_bodies(batches)
    writers: dict[str, Callable[[], object]] = {
        "bms_xero: WireInvoice.of + request body, exact decimals": lambda: ours(batches, taxes)
    }
    if isinstance(serialise, str):
        note = serialise
    else:
        sdk_serialise = serialise
        writers["xero-python: models + its serialiser + json.dumps"] = lambda: theirs(
            batches, sdk_serialise
        )
        price = json.loads(theirs([batches[0][:1]], serialise)[0])["Invoices"][0]["LineItems"][1]
        note = (
            "xero-python turns Decimal amounts into floats before json.dumps (the 0.3375 unit "
            f"price is sent as a JSON {type(price['UnitAmount']).__name__}); bms_xero writes "
            "each Decimal's digits."
        )
    writers["json.dumps floor: the bodies prebuilt as dicts, floats"] = lambda: dumps_floor(bodies)
    write = {name: count / seconds for name, seconds in side_by_side(writers, rounds).items()}
    mine = next(iter(write.values()))

    body = invoice_page(page)
    readers: dict[str, Callable[[], object]] = {
        "bms_xero: decode_invoices, exact decimals": lambda: decode_invoices(body)
    }
    sdk_read = sdk_reader()
    if sdk_read is not None:
        readers["xero-python: json.loads(parse_float=Decimal) + deserialize"] = lambda: sdk_read(
            body
        )
    readers["json.loads floor, floats"] = lambda: json.loads(body)
    readers["json.loads floor, parse_float=Decimal"] = lambda: json.loads(body, parse_float=Decimal)
    read = side_by_side(readers, rounds)
    decoded = next(iter(read.values()))

    whole = engine_rate(count, min(rounds, 3))
    share, encoding, engine_side = profiled_push(min(count, 1_000))

    print(f"CPU, write path: invoices per second (3 lines each, best of {rounds} rounds)\n")
    print(
        c.table(
            ["path", "invoices", "invoices / s", "bms_xero is x faster"],
            [[name, count, f"{rate:,.0f}", f"{mine / rate:.2f}"] for name, rate in write.items()],
        )
    )
    print(f"\nCPU, read path: one page of {page:,} invoices ({len(body):,} bytes)\n")
    print(
        c.table(
            ["path", "ms per page", "invoices / s", "bms_xero is x faster"],
            [
                [
                    name,
                    f"{seconds * 1e3:,.1f}",
                    f"{page / seconds:,.0f}",
                    f"{seconds / decoded:.2f}",
                ]
                for name, seconds in read.items()
            ],
        )
    )
    print("\nCPU, the whole engine\n")
    print(
        c.table(
            ["path", "invoices", "invoices / s"],
            [
                ["SyncEngine.push_many + FakeXero (limits off)", count, f"{whole:,.0f}"],
                ["the same, FakeXero's share removed", count, f"{whole / (1 - share):,.0f}"],
            ],
        )
    )
    print(
        f"\nFakeXero answering took {share:.0%} of a one-at-a-time push's CPU under cProfile; "
        f"the push spent {encoding:,.1f} us per invoice writing its element "
        f"(invoice_element) and {engine_side:,.0f} us per invoice outside FakeXero."
    )
    print(f"\nNote: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
