"""Receive Xero's webhooks in a Flask app: verify, answer, queue the pulls they call for.

Run: XERO_WEBHOOK_KEY=... XERO_TENANT_IDS=<id>,<id> python examples/webhook_flask.py
(serves http://127.0.0.1:8000; XERO_TENANT_IDS is optional but recommended, see below)

Point the webhook in Xero's developer portal at https://<your host>/xero/webhooks (Xero wants
HTTPS on port 443: put the app behind your usual TLS proxy). Xero's "Intent to Receive" check
then passes: a correctly signed probe gets 200, a wrongly signed one 401. Each INVOICE event
for an invoice this BMS pushed queues a pull of that invoice, and each PAYMENT, CREDITNOTE or
PREPAYMENT event (or a category Xero adds later) a pull of its organisation, in the same
SQLite file the sync engine and the worker use; run the worker (docs/jobs.md) to carry them
out. Every correctly signed delivery gets 200, even one that can't be read: then the
organisations in XERO_TENANT_IDS (or those the body names) are pulled instead.
"""

from __future__ import annotations

import os

from flask import Flask, request

from bms_xero.jobs import SQLiteJobStore
from bms_xero.storage import SQLiteStore
from bms_xero.webhooks import SIGNATURE_HEADER, WebhookReceiver


def create_app(receiver: WebhookReceiver) -> Flask:
    """A Flask app answering Xero's webhooks at POST /xero/webhooks."""
    app = Flask(__name__)

    @app.post("/xero/webhooks")
    def xero_webhooks() -> tuple[str, int]:
        # get_data(): the raw bytes Xero signed; request.json would re-encode them.
        response = receiver(request.get_data(), request.headers.get(SIGNATURE_HEADER))
        return "", response.status  # 200 or 401; Xero wants an empty body

    return app


def tenant_ids_from_environment() -> list[str] | None:
    """XERO_TENANT_IDS, comma-separated: the organisations this BMS serves (None if unset)."""
    given = os.environ.get("XERO_TENANT_IDS", "")
    return [t.strip() for t in given.split(",") if t.strip()] or None


def from_environment() -> Flask:
    """The app on the SQLite file BMS_XERO_DB (default sync.db), keyed by XERO_WEBHOOK_KEY."""
    database = os.environ.get("BMS_XERO_DB", "sync.db")
    return create_app(
        WebhookReceiver(
            key=os.environ["XERO_WEBHOOK_KEY"],
            jobs=SQLiteJobStore(database),
            links=SQLiteStore(database),
            tenant_ids=tenant_ids_from_environment(),
        )
    )


if __name__ == "__main__":
    from_environment().run(port=8000)
