"""``bms-xero push FILE`` with absurd numbers: typed invalid reports, at once, the rest pushed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.conftest import Cli, invoice


def test_absurd_numbers_are_invalid_invoices(cli: Cli, tmp_path: Path) -> None:
    """A quantity of 1e999999999 and days of 1e2000000 fail their invoices with paths."""
    huge_quantity = invoice(2, lines=[invoice(2)["lines"][0] | {"quantity": "@quantity"}])
    huge_days = invoice(3, payment_terms={"type": "DAYSAFTERBILLDATE", "days": "@days"})
    text = json.dumps([invoice(1), huge_quantity, huge_days])
    text = text.replace('"@quantity"', "1e999999999").replace('"@days"', "1e2000000")
    path = tmp_path / "absurd.json"
    path.write_text(text)

    started = time.perf_counter()
    ran = cli("push", str(path), "--link-customers", "--json")
    elapsed = time.perf_counter() - started

    errors = [item.get("error") for item in ran.json()["invoices"]]
    assert (1, None, "InvoiceValidationError", "InvoiceValidationError") == (
        ran.status,
        errors[0],
        errors[1]["type"],
        errors[2]["type"],
    )
    assert (["lines[0].quantity"], ["payment_terms.days"]) == (
        [p["path"] for p in errors[1]["problems"]],
        [p["path"] for p in errors[2]["problems"]],
    )
    assert elapsed < 5


def test_deep_nesting_is_a_file_error(cli: Cli, tmp_path: Path) -> None:
    """A file of 200,000 nested arrays is refused as unreadable, with no traceback."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)

    ran = cli("push", str(path))

    assert (True, "nested too deeply" in ran.stderr + ran.stdout, "Traceback" in ran.stderr) == (
        ran.status != 0,
        True,
        False,
    )
