"""``python manage.py pay_in_fake_xero INV-0001``: pay an invoice in full in the fake Xero.

Not host glue: a stand-in for the customer paying in Xero, so the README's walk-through can
show a payment coming back. It does what a person would do in Xero: reads what the invoice
still owes and pays it into bank account 090 (which ``bms-xero fake-server --sample-data``
creates), through the accounting API of the server ``BMS_FAKE_XERO_URL`` names.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bms_xero.contrib.django import wiring
from bms_xero.mapping.wire import decode_json, encode_json
from invoicing.models import Invoice


class Command(BaseCommand):
    help = "Pay a pushed invoice in full in the fake Xero (bms-xero fake-server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", help="the BMS invoice number, e.g. INV-0001")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.FAKE_XERO_URL:
            raise CommandError("BMS_FAKE_XERO_URL is empty: this pays only in the fake Xero")
        invoice = Invoice.objects.filter(number=options["number"]).first()
        if invoice is None:
            raise CommandError(f"there is no invoice {options['number']} in the BMS")
        xero_id = wiring.get_engine().panel(str(invoice.pk)).xero_invoice_id
        if xero_id is None:
            raise CommandError(f"{invoice.number} is not in Xero yet: release it, run the worker")
        conf = wiring.get_settings()
        creds = wiring.credentials()
        with httpx.Client(timeout=10) as http:
            token = http.post(
                conf.token_url,
                data={"grant_type": "client_credentials"},
                auth=(creds.client_id, creds.client_secret or ""),
            )
            token.raise_for_status()
            headers = {
                "Authorization": f"Bearer {token.json()['access_token']}",
                "xero-tenant-id": conf.tenant_id,
            }
            found = http.get(f"{conf.api_url}/Invoices/{xero_id}", headers=headers)
            found.raise_for_status()
            due = decode_json(found.content)["Invoices"][0]["AmountDue"]
            payment = {
                "Invoice": {"InvoiceID": xero_id},
                "Account": {"Code": "090"},
                "Amount": due,
                "Date": date.today().isoformat(),  # noqa: DTZ011 - Xero's dates are local
            }
            paid = http.put(
                f"{conf.api_url}/Payments",
                headers=headers,
                content=encode_json({"Payments": [payment]}),
            )
            paid.raise_for_status()
        self.stdout.write(
            f"Paid {due} on {invoice.number} in Xero; `manage.py bms_xero_pull --now` brings it "
            "back."
        )
