"""The BMS's pages. Two buttons reach Xero, both through the app's background jobs: Release
(``queue_push``) and, on a customer, Link to Xero (``queue_link_customer``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bms_xero.contrib.django.release import queue_link_customer, queue_push
from invoicing import xero
from invoicing.models import Customer, Invoice


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    invoices = Invoice.objects.select_related("customer").prefetch_related("lines")
    return render(request, "invoicing/invoice_list.html", {"invoices": invoices})


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer").prefetch_related("lines"), pk=pk
    )
    contact_id = xero.contact_of(invoice.customer)
    return render(
        request, "invoicing/invoice_detail.html", {"invoice": invoice, "contact_id": contact_id}
    )


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    rows = [(customer, xero.contact_of(customer)) for customer in Customer.objects.all()]
    return render(request, "invoicing/customer_list.html", {"rows": rows})


@login_required
@require_POST
def link_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """Find the customer's contact in Xero (by code, then by name) or create it, in the
    background; its invoices can be pushed from then on."""
    customer = get_object_or_404(Customer, pk=pk)
    queue_link_customer(customer.contact_number)  # its id for bms_xero (invoicing.xero)
    messages.success(request, f"{customer.name} is queued to be linked to Xero.")
    return redirect("customer-list")


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """Release a draft: from now on it is a real invoice, so it goes to Xero (in the
    background: the push is queued when this transaction commits, and a worker sends it)."""
    with transaction.atomic():
        invoice = get_object_or_404(Invoice.objects.select_for_update(), pk=pk)
        if invoice.status != Invoice.Status.DRAFT:
            messages.info(request, f"{invoice.number} was released already.")
        else:
            invoice.status = Invoice.Status.RELEASED
            invoice.save(update_fields=["status"])
            queue_push(str(invoice.pk), invoice_number=invoice.number)
            messages.success(request, f"{invoice.number} released: it is queued for Xero.")
    return redirect("invoice-detail", pk=invoice.pk)
