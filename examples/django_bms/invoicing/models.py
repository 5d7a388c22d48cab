"""The BMS's own data: customers, invoices and their lines. Nothing here knows about Xero
except the customer's optional ``xero_contact_id`` (filled in when the customer is linked)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models

#: What each BMS tax code charges; the Xero side of the same codes is ``BMS_XERO["tax_map"]``.
TAX_RATES = {"GST15": Decimal("0.15")}
CENT = Decimal("0.01")


class Customer(models.Model):
    name = models.CharField(max_length=255, unique=True)
    contact_number = models.CharField(
        max_length=50, unique=True, help_text="The customer's code; Xero's ContactNumber."
    )
    email = models.EmailField(blank=True)
    xero_contact_id = models.CharField(
        "Xero contact", max_length=36, blank=True, help_text="Set when the customer is linked."
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RELEASED = "released", "Released"
        PAID = "paid", "Paid"

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, default="NZD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    #: The last PaymentUpdate.sequence applied: an older or repeated update is ignored.
    payment_sequence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ("number",)

    def __str__(self) -> str:
        return self.number

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines.all()), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines.all()), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


class Line(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=400)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    account_code = models.CharField(max_length=10, default="200")
    tax_code = models.CharField(max_length=20, default="GST15")

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)

    @property
    def tax(self) -> Decimal:
        return (self.amount * TAX_RATES.get(self.tax_code, Decimal(0))).quantize(
            CENT, ROUND_HALF_UP
        )
