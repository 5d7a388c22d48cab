"""Management commands of the bms_xero Django app (``bms_xero_worker``, ``bms_xero_pull``)."""
