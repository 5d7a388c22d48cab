"""``python manage.py seed_bms``: three customers and four draft invoices to play with.

Acme Ltd's code (C-1) is the ContactNumber of the contact ``bms-xero fake-server
--sample-data`` creates, so linking it finds that contact; the others get new contacts.
Running it again changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from invoicing.models import Customer, Invoice, Line

CUSTOMERS = (
    ("C-1", "Acme Ltd", "accounts@acme.example"),
    ("C-2", "Globex Corporation", "ap@globex.example"),
    ("C-3", "Initech", "billing@initech.example"),
)
# number, customer code, lines (description, quantity, unit price)
INVOICES = (
    ("INV-0001", "C-1", (("Website design", "1", "1200.00"), ("Hosting, 12 months", "12", "25"))),
    ("INV-0002", "C-2", (("Consulting, hours", "7.5", "150.00"),)),
    ("INV-0003", "C-3", (("Printer repair", "2", "89.50"), ("Toner cartridge", "4", "42.00"))),
    ("INV-0004", "C-1", (("Support retainer, January", "1", "450.00"),)),
)


class Command(BaseCommand):
    help = "Add the example customers and draft invoices (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        today = date.today()  # noqa: DTZ011 - the BMS's local date is what an invoice is dated
        with transaction.atomic():
            customers = {
                code: Customer.objects.get_or_create(
                    contact_number=code, defaults={"name": name, "email": email}
                )[0]
                for code, name, email in CUSTOMERS
            }
            added = 0
            for number, code, lines in INVOICES:
                invoice, created = Invoice.objects.get_or_create(
                    number=number,
                    defaults={
                        "customer": customers[code],
                        "issue_date": today,
                        "due_date": today + timedelta(days=30),
                    },
                )
                if created:
                    added += 1
                    for description, quantity, price in lines:
                        Line.objects.create(
                            invoice=invoice,
                            description=description,
                            quantity=Decimal(quantity),
                            unit_price=Decimal(price),
                        )
        self.stdout.write(f"seeded {len(customers)} customers, {added} new draft invoices")
