"""A small business management system: customers, invoices with lines, a Release button.

Everything about Xero is in :mod:`invoicing.xero` (the host glue) and in the reusable app
``bms_xero.contrib.django``; the rest is an ordinary Django app.
"""
