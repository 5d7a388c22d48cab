"""``manage.py bms_xero_worker`` and ``manage.py bms_xero_pull``."""
