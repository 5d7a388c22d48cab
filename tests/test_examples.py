"""Every script in examples/ runs and prints what its docs promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    return done.stdout


def test_map_invoice() -> None:
    """The mapping example prints Xero's body and the one-cent rounding difference."""
    out = run("map_invoice.py")
    assert '"Type":"ACCREC"' in out
    assert "BMS total 211.90 differs from Xero's by -0.01" in out


def test_every_example_is_tested() -> None:
    """Each example script has a test in this suite (so none can rot unseen)."""
    source = Path(__file__).read_text() + "".join(
        p.read_text()
        for p in Path(__file__).parent.rglob("test_*.py")
        if p.name != Path(__file__).name
    )
    untested = [p.name for p in EXAMPLES.glob("*.py") if p.name not in source]
    if untested:
        pytest.fail(f"examples without a test: {untested}")


def test_quickstart() -> None:
    """The README tour pushes, pulls a full payment and prints the deep link."""
    out = run("quickstart.py")
    assert "pushed INV-0001: created, Xero total 115.00" in out
    assert "pulled INV-0001: paid, due 0.00" in out
    assert "redirecturl=/AccountsReceivable/View.aspx?InvoiceID=" in out


def test_readme_tour_runs() -> None:
    """The Python block in the README runs as written."""
    import re

    readme = (EXAMPLES.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "the README has a Python example"
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own docs
    assert "paid" == namespace["panel"].status.value  # type: ignore[attr-defined]
