"""The subcommands that need no settings: ``demo`` and ``fake-server``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from types import FrameType
from typing import Any, TextIO

__all__ = ["FAKE_COMMANDS", "run_demo", "run_fake_server", "stop_on_signals"]

_Subparsers = Any  # argparse's _SubParsersAction is private


def _add_fake_server(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "fake-server",
        help="serve FakeXero over HTTP on loopback for apps in other processes",
        description=(
            "Run FakeXero as a local HTTP server until interrupted (Ctrl+C or SIGTERM). One "
            "host serves the accounting API at /api.xro/2.0, the identity endpoints at "
            "/connect/token and /connect/revocation, /connections, and the consent step at "
            "/identity/connect/authorize (it approves at once and redirects back; a browser "
            "gets a page with Allow and Cancel). Prints the URLs, the tenant id and the fake "
            "client credentials (a PKCE app's client id too). The server uses the real time, "
            "so rate-limit windows reset."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: 0, a free one)")
    parser.add_argument("--seed", default=None, help="seed ids and credentials (reproducible)")
    parser.add_argument("--minute-limit", type=int, default=60, help="calls/minute per tenant")
    parser.add_argument("--day-limit", type=int, default=5000, help="calls/day per tenant")
    parser.add_argument("--concurrent-limit", type=int, default=5, help="in flight per tenant")
    parser.add_argument(
        "--sample-data",
        action="store_true",
        help="add account 200 (Sales), bank account 090, tax rate OUTPUT2 (15%%) and a contact",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a `bms-xero --json fake-server` given before it
        help="print the details as one JSON line instead of text",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the fake has no real security)",
    )
    parser.set_defaults(handler=run_fake_server)


def _add_demo(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole story on FakeXero and an SQLite file",
        description=(
            "Push a handful of realistic invoices to FakeXero (two organisations: GST and VAT), "
            "pay some in Xero, pull the payments back and print each invoice's panel. Nothing "
            "leaves this machine."
        ),
    )
    parser.add_argument(
        "--db", default=None, help="the SQLite file for sync state (default: a new temp file)"
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """``bms-xero demo``."""
    from bms_xero._demo import run

    return run(args.db)


def run_fake_server(
    args: argparse.Namespace,
    *,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """``bms-xero fake-server``: serve until SIGINT/SIGTERM (or until ``stop`` is set)."""
    from bms_xero.clock import SystemClock
    from bms_xero.errors import ConfigurationError
    from bms_xero.testing import FakeXero, serve

    out = out or sys.stdout
    seed: int | str | None = args.seed
    if isinstance(seed, str) and seed.lstrip("-").isdigit():
        seed = int(seed)
    try:
        xero = FakeXero(
            SystemClock(),
            seed,
            minute_limit=args.minute_limit,
            day_limit=args.day_limit,
            concurrent_limit=args.concurrent_limit,
        )
        server = serve(xero, args.host, args.port, allow_remote=args.allow_remote)
    except (ConfigurationError, OSError) as e:
        print(f"bms-xero fake-server: {e}", file=sys.stderr)
        return 2
    details: dict[str, str] = {
        "url": server.url,
        "api_url": server.api_url,
        "token_url": server.token_url,
        "connections_url": server.connections_url,
        "authorize_url": server.authorize_url,
        "revocation_url": server.revocation_url,
        "tenant_id": xero.tenant_id,
        "client_id": xero.client_id,
        "client_secret": xero.client_secret,
        "pkce_client_id": xero.pkce_client_id,
    }
    if args.sample_data:
        xero.add_account(code="200", name="Sales", type="REVENUE")
        xero.add_account(code="090", name="Business Bank Account", type="BANK")
        xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
        details["contact_id"] = xero.add_contact(name="Acme Ltd", contact_number="C-1")
    stop = stop or threading.Event()
    restore = stop_on_signals(stop)
    try:
        if getattr(args, "json", False):
            out.write(json.dumps(details) + "\n")
        else:
            out.write(_describe(details))
        out.flush()
        while not stop.wait(0.2):
            pass
    finally:
        restore()
        server.close()
    if not getattr(args, "json", False):
        out.write("FakeXero stopped.\n")
        out.flush()
    return 0


def _describe(details: dict[str, str]) -> str:
    lines = [
        f"FakeXero is serving on {details['url']}",
        f"  accounting API:  {details['api_url']}",
        f"  token endpoint:  {details['token_url']}",
        f"  connections:     {details['connections_url']}",
        f"  consent step:    {details['authorize_url']}",
        f"  revocation:      {details['revocation_url']}",
        f"  tenant id:       {details['tenant_id']}",
        f"  client id:       {details['client_id']}",
        f"  client secret:   {details['client_secret']}",
        f"  PKCE client id:  {details['pkce_client_id']} (an app with no secret)",
    ]
    if "contact_id" in details:
        lines.append(f"  contact id:      {details['contact_id']} (Acme Ltd, with sample data)")
    lines.append("These are fake credentials for this server only. Press Ctrl+C to stop.")
    return "\n".join(lines) + "\n"


def stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGINT/SIGTERM; returns a function that restores the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach only the main thread

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


FAKE_COMMANDS: tuple[Callable[[_Subparsers], None], ...] = (_add_demo, _add_fake_server)
