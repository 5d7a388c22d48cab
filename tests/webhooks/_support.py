"""Shared bits for webhook tests: a key, Xero-shaped events and deliveries."""

from __future__ import annotations

import json
from typing import Any

# A made-up webhook key of the shape Xero's portal shows (64 base64-ish characters).
KEY = "LZXg2kScfHkaWPp7rA3QjD9ymvKt0XwJ6bhE5u1oTqN4Fs8GMIcdRVYBfezHniOU"

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


def event(
    resource_id: str,
    *,
    category: str = "INVOICE",
    event_type: str = "UPDATE",
    tenant_id: str = TENANT,
    date: str = "2026-01-05T09:15:39.902",
) -> dict[str, Any]:
    """One event as Xero sends it."""
    plural = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}
    api = "https://api.xero.com/api.xro/2.0"
    return {
        "resourceUrl": f"{api}/{plural.get(category, 'X')}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": date,
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }


def delivery(*events: dict[str, Any], sequence: int = 1) -> bytes:
    """A delivery's body, serialised as Xero does (compact JSON)."""
    return json.dumps(
        {
            "events": list(events),
            "firstEventSequence": sequence if events else 0,
            "lastEventSequence": sequence + len(events) - 1 if events else 0,
            "entropy": "FXNGWLCCGVANWHKILRUB",
        },
        separators=(",", ":"),
    ).encode()
