"""``python -m bms_xero``: the same as the ``bms-xero`` command."""

from bms_xero.cli import main

raise SystemExit(main())
