"""The example BMS's Django project: settings and URLs (the BMS itself is the ``invoicing`` app)."""
