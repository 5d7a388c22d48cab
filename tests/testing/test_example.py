"""The quick-start example runs and prints what Xero would say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fake_xero_quickstart.py"


def test_quickstart_example_runs() -> None:
    """examples/fake_xero_quickstart.py runs to the end with the documented output."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=False
    )

    expected = [
        "created INV-0001: total 34.59, tax 4.50",
        "duplicate number: Invoice # must be unique.",
        "after payment: paid 20.00, due 14.59",
        "lost answer: httpx.ReadTimeout (but Xero stored the invoice)",
        "retry with the same Idempotency-Key: 200, replayed, no duplicate",
        "calls left this minute: 57",
        "invoices stored: 2; PUT /Invoices calls: 4",
    ]
    assert (0, expected, "") == (result.returncode, result.stdout.splitlines(), result.stderr)
