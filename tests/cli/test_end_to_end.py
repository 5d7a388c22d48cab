"""The command in its own processes, against FakeXero served on loopback, as operators run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from bms_xero.clock import SystemClock
from bms_xero.testing import FakeServer, FakeXero, serve
from tests.cli.conftest import EXAMPLES, seed

CANARY = "CANARY-never-print-me-51d0"


@attrs.frozen
class Run:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(name="server")
def _server() -> Iterator[FakeServer]:
    xero = FakeXero(SystemClock(), seed=11)
    seed(xero)
    with serve(xero, "127.0.0.1", 0) as server:
        yield server


@pytest.fixture(name="env")
def _env(server: FakeServer, tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "secret"
    secret.write_text(server.xero.client_secret + "\n")
    config = tmp_path / "bms-xero.toml"
    config.write_text(
        f'db = "sync.db"\nclient_secret_file = "secret"\napi_url = "{server.api_url}"\n'
        '[tax_map]\nGST15 = "OUTPUT2"\n'
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BMS_XERO_")}
    return {
        **keep,
        "BMS_XERO_CONFIG": str(config),
        "BMS_XERO_CLIENT_ID": server.xero.client_id,
        "BMS_XERO_TOKEN_URL": server.token_url,
        "BMS_XERO_CONNECTIONS_URL": server.connections_url,
    }


def bms_xero(env: dict[str, str], *args: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "bms_xero", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def test_the_operators_story(server: FakeServer, env: dict[str, str], tmp_path: Path) -> None:
    """push, pay in Xero, pull, panel, a background push through the worker, jobs and retry
    all work from separate processes, configured by environment and TOML."""
    xero = server.xero
    pushed = bms_xero(env, "push", str(EXAMPLES / "invoices.json"), "--link-customers", "--json")
    ids = {i["InvoiceNumber"]: i["InvoiceID"] for i in xero.invoices()}
    xero.pay(ids["INV-1001"], amount=Decimal("211.89"))
    pulled = bms_xero(env, "pull", "--json")
    panel = bms_xero(env, "panel", "I-1001", "--json")
    later = tmp_path / "later.json"
    later.write_text(
        json.dumps(
            [
                {
                    "id": "I-1004",
                    "number": "INV-1004",
                    "customer": {"id": "C-1", "name": "Acme Ltd"},
                    "issue_date": "2026-11-03",
                    "due_date": "2026-12-03",
                    "lines": [
                        {
                            "description": "Spare parts",
                            "quantity": 3,
                            "unit_amount": 45.00,
                            "account_code": "260",
                            "tax_code": "GST15",
                        }
                    ],
                }
            ]
        )
    )
    queued = bms_xero(env, "push", str(later), "--background")
    failed_run = bms_xero(env, "worker", "--once")
    failed = bms_xero(env, "jobs", "--failed", "--json").json()["jobs"]
    xero.add_account(code="260", name="Other Revenue", type="REVENUE")
    retried = bms_xero(env, "retry", failed[0]["id"])
    rerun = bms_xero(env, "worker", "--once", "--json")

    outputs = [pushed, pulled, panel, queued, failed_run, retried, rerun]
    assert {
        "statuses": [0, 0, 0, 0, 1, 0, 0],
        "pushed": pushed.json()["summary"],
        "pulled": [(u["invoice_number"], u["status"]) for u in pulled.json()["updates"]],
        "panel": (panel.json()["panel"]["status"], panel.json()["panel"]["amount_due"]),
        "failed": [(j["invoice_number"], j["error_type"]) for j in failed],
        "rerun": rerun.json()["summary"]["done"],
        "in_xero": sorted(i["InvoiceNumber"] for i in xero.invoices()),
        "secret_printed": any(xero.client_secret in r.stdout + r.stderr for r in outputs),
    } == {
        "statuses": [r.status for r in outputs],
        "pushed": {"invoices": 3, "failed": 0, "created": 3},
        "pulled": [("INV-1001", "paid")],
        "panel": ("paid", "0.00"),
        "failed": [("INV-1004", "AccountCodeError")],
        "rerun": 1,
        "in_xero": ["INV-1001", "INV-1002", "INV-1003", "INV-1004"],
        "secret_printed": False,
    }


def test_a_wrong_secret_is_never_printed(env: dict[str, str]) -> None:
    """With a refused secret every command that calls Xero exits 3, panel (which reads the
    file only) still works, and the secret is printed nowhere."""
    env = {**env, "BMS_XERO_CLIENT_SECRET": CANARY}
    runs = [
        bms_xero(env, "pull"),
        bms_xero(env, "pull", "--verbose"),
        bms_xero(env, "worker", "--once", "--json", "--verbose"),
        bms_xero(env, "panel", "I-1", "--json", "--verbose"),
    ]

    assert ([3, 3, 3, 0], False) == (
        [r.status for r in runs],
        any(CANARY in r.stdout + r.stderr for r in runs),
    )


def test_the_worker_stops_on_sigterm(env: dict[str, str]) -> None:
    """bms-xero worker runs until SIGTERM, then stops cleanly with status 0."""
    with subprocess.Popen(
        [sys.executable, "-m", "bms_xero", "worker", "--poll", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            with ThreadPoolExecutor(max_workers=1) as pool:
                started = pool.submit(process.stderr.readline).result(timeout=30)
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.stdout is not None
        stdout = process.stdout.read()

    assert ("running for tenant", 0, "Worker stopped.\n") == (
        "running for tenant" if "running for tenant" in started else started,
        status,
        stdout,
    )
