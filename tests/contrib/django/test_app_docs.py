"""docs/django.md says what the app does: its settings example is accepted as written, and
every key of ``BMS_XERO`` is in its table."""

from __future__ import annotations

import re
from pathlib import Path

from bms_xero.contrib.django.conf import KEYS, parse_settings

PAGE = (Path(__file__).resolve().parents[3] / "docs" / "django.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE, flags=re.DOTALL)


def test_the_settings_example_is_accepted() -> None:
    """The smallest BMS_XERO of the page, and with the fake-server URLs, parse as written."""
    [smallest] = [b for b in python_blocks() if b.startswith("BMS_XERO = {")]
    [fake] = [b for b in python_blocks() if b.startswith('FAKE = "http://127.0.0.1:8765"')]
    namespace: dict[str, object] = {"os": __import__("os")}
    exec(smallest, namespace)  # noqa: S102 - our own docs
    raw = dict(namespace["BMS_XERO"])  # type: ignore[call-overload]
    raw["TENANT_ID"] = raw["TENANT_ID"] or "tenant-from-the-environment"
    namespace["BMS_XERO"] = raw
    exec(fake, namespace)  # noqa: S102 - our own docs
    settings = parse_settings(namespace["BMS_XERO"], databases=["default"])
    assert ("billing.xero.Invoices", "http://127.0.0.1:8765/api.xro/2.0") == (
        settings.invoice_source,
        settings.api_url,
    )


def test_every_key_is_documented() -> None:
    """Each key the app reads has a row in the page's settings table."""
    first_cells = re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|", PAGE, flags=re.M)
    documented = {key for cell in first_cells for key in re.findall(r"`([A-Z_]+)`", cell)}
    assert [] == sorted(set(KEYS) - documented)
