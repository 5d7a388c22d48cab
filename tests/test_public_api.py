"""The public surface hosts write against is pinned, so a change to it is deliberate."""

from __future__ import annotations

from typing import Any

import bms_xero
import bms_xero.engine
import bms_xero.storage


def test_top_level_names() -> None:
    """`bms_xero` exports the names of architecture section 3, sorted."""
    expected = [
        "Account",
        "Allocation",
        "AllocationKind",
        "BmsStatus",
        "BmsXeroError",
        "Customer",
        "Invoice",
        "InvoiceStatus",
        "LineAmountTypes",
        "LineItem",
        "Organisation",
        "Panel",
        "PaymentSink",
        "PaymentStatus",
        "PaymentTermType",
        "PaymentTerms",
        "PaymentUpdate",
        "PushAction",
        "PushFailure",
        "PushOutcome",
        "PushResult",
        "Settlement",
        "SyncEngine",
        "TaxRate",
        "Tracking",
        "XeroClient",
        "XeroContact",
        "XeroInvoice",
        "XeroLineItem",
        "XeroPayment",
    ]
    assert expected == bms_xero.__all__
    assert all(hasattr(bms_xero, name) for name in expected)


def test_storage_names() -> None:
    """`bms_xero.storage` exports the stores and their protocols, token stores included."""
    assert {
        "MemoryStore",
        "SQLiteStore",
        "SyncStore",
        "TokenStore",
        "SQLiteTokenStore",
        "MemoryTokenStore",
    } <= set(bms_xero.storage.__all__)


def test_every_exported_name_exists() -> None:
    """Every name in a public module's __all__ is importable from it."""
    import importlib

    for module in (
        "bms_xero",
        "bms_xero.errors",
        "bms_xero.mapping",
        "bms_xero.engine",
        "bms_xero.storage",
        "bms_xero.xero",
        "bms_xero.testing",
        "bms_xero.jobs",
        "bms_xero.webhooks",
        "bms_xero.clock",
        "bms_xero.transport",
    ):
        loaded = importlib.import_module(module)
        missing = [n for n in loaded.__all__ if not hasattr(loaded, n)]
        assert [] == missing, module


def test_every_error_is_in_the_docs() -> None:
    """docs/errors.md draws the whole tree: every exception bms_xero.errors exports is in it,
    and the module's own docstring draws the same tree."""
    import re
    from pathlib import Path

    import bms_xero.errors as errors

    docs = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text()
    names = [
        name
        for name in errors.__all__
        if isinstance(getattr(errors, name), type)
        and issubclass(getattr(errors, name), BaseException)
    ]
    drawn = set(re.findall(r"(?:── |^)(\w+)", docs, flags=re.M))
    assert [] == [n for n in names if n not in drawn]
    assert [] == [n for n in names if n not in (errors.__doc__ or "")]


def test_spec_tests_fail_under_ci_without_the_spec(tmp_path: Any) -> None:
    """Without ../shared, a spec test skips on a laptop (saying how to get it) and fails in
    CI, where passing without the oracle would check nothing."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    test = "tests/mapping/test_wire.py::test_payload_validates_against_spec"
    env = {**os.environ, "BMS_XERO_SPEC_DIR": str(tmp_path / "missing")}
    env.pop("CI", None)
    laptop = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    ci = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=root,
        env={**env, "CI": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (0, True) == (laptop.returncode, "BMS_XERO_SPEC_DIR" in laptop.stdout)
    assert (1, True) == (ci.returncode, "CI must check payloads" in ci.stdout)
