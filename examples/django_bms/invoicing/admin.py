from django.contrib import admin

from invoicing.models import Customer, Invoice, Line


class LineInline(admin.TabularInline):
    model = Line
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "issue_date", "status")
    list_filter = ("status",)
    inlines = (LineInline,)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_number", "xero_contact_id")
