"""Fixtures for the ``bms-xero`` command: a FakeXero with reference data, and a runner."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from bms_xero.cli import main
from bms_xero.testing import FakeXero

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@attrs.frozen
class Ran:
    """What one run of the command did."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@attrs.define
class Cli:
    """Runs ``main`` in-process against a FakeXero, with the environment given."""

    xero: FakeXero[Any]
    env: dict[str, str]
    http: httpx.Client

    def __call__(self, *argv: str, env: Mapping[str, str] | None = None, stdin: str = "") -> Ran:
        out, err = io.StringIO(), io.StringIO()
        status = main(
            list(argv),
            environ=self.env if env is None else env,
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
            clock=self.xero.clock,
            http_client=self.http,
        )
        return Ran(status, out.getvalue(), err.getvalue())


def seed(xero: FakeXero[Any]) -> None:
    """The reference data examples/invoices.json needs, and its first customer's contact."""
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    xero.add_contact(name="Acme Ltd", contact_number="C-1")


@pytest.fixture(name="xero")
def _xero() -> FakeXero[Any]:
    xero = FakeXero(seed=7)
    seed(xero)
    return xero


@pytest.fixture(name="cli")
def _cli(xero: FakeXero[Any], tmp_path: Path) -> Iterator[Cli]:
    env = {
        "BMS_XERO_CLIENT_ID": xero.client_id,
        "BMS_XERO_CLIENT_SECRET": xero.client_secret,
        "BMS_XERO_DB": str(tmp_path / "sync.db"),
        "BMS_XERO_TAX_MAP": "GST15=OUTPUT2",
    }
    with httpx.Client(transport=xero.transport) as http:
        yield Cli(xero, env, http)


def invoice(n: int, **changes: Any) -> dict[str, Any]:
    """Invoice ``I-n`` (number ``INV-n``) in the BMS JSON shape, for Acme Ltd (C-1)."""
    data: dict[str, Any] = {
        "id": f"I-{n}",
        "number": f"INV-{n}",
        "customer": {"id": "C-1", "name": "Acme Ltd"},
        "issue_date": "2026-11-02",
        "due_date": "2026-12-02",
        "lines": [
            {
                "description": "Widget",
                "quantity": "2",
                "unit_amount": "50.00",
                "account_code": "200",
                "tax_code": "GST15",
            }
        ],
    }
    data.update(changes)
    return data


def write(path: Path, items: Any) -> str:
    path.write_text(json.dumps(items))
    return str(path)
