"""The README's main command: the demo runs the whole story and says what a user would see."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bms_xero._demo import run


def test_demo_story(tmp_path: Path) -> None:
    """The demo pushes, fails one invoice clearly, pulls payments and prints panels."""
    out = io.StringIO()
    assert 0 == run(tmp_path / "sync.db", out)
    text = out.getvalue()
    for expected in [
        "INV-1001: created in Xero, total 211.89, BMS total differs by -0.01",
        "INV-1002: created in Xero, total 1800.00",
        "UK-2001: created in Xero, total 2880.00",
        "FAILED invoice INV-1004: customer C-300 (Initech) has no Xero identifier; sync the "
        "customer first",
        "INV-1001 unchanged, INV-1002 unchanged, INV-1003 unchanged",
        "BMS applies INV-1001: paid, paid 211.89, due 0.00",
        "BMS applies INV-1002: partially_paid, paid 800.00, due 1000.00",
        "shortcode=%21UKdem&redirecturl=/AccountsReceivable/View.aspx?InvoiceID=",
        "7. A correction after payment: INV-1002 bills 10 hours, not 12",
        "raise a credit note for the difference",
        "CN-1001: created in Xero, total 300.00, allocated to INV-1002 300.00",
        "BMS applies INV-1002: partially_paid, paid 800.00, due 700.00",
        "ViewCreditNote.aspx?creditNoteID=",
        "Done: 4 payment updates applied, 1 invoice(s) need attention",
    ]:
        assert expected in text


def test_demo_refuses_existing_db(tmp_path: Path) -> None:
    """The demo never reuses (or overwrites) an existing sync-state file."""
    db = tmp_path / "sync.db"
    db.write_text("mine")
    assert 2 == run(db, io.StringIO())
    assert "mine" == db.read_text()


def test_demo_command(tmp_path: Path) -> None:
    """`python -m bms_xero demo` (what the README runs) exits 0 and tells the story."""
    done = subprocess.run(
        [sys.executable, "-m", "bms_xero", "demo", "--db", str(tmp_path / "d.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    assert "5. The integration panel of each invoice" in done.stdout
