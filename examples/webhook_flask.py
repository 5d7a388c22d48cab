"""Receive Xero's webhooks in a Flask app: verify, answer, queue the pulls they call for.

Run: XERO_WEBHOOK_KEY=... python examples/webhook_flask.py   (serves http://127.0.0.1:8000)

Point the webhook in Xero's developer portal at https://<your host>/xero/webhooks (Xero wants
HTTPS on port 443: put the app behind your usual TLS proxy). Xero's "Intent to Receive" check
then passes: a correctly signed probe gets 200, a wrongly signed one 401. Each INVOICE event
for an invoice this BMS pushed queues a pull job in the same SQLite file the sync engine and
the worker use; run the worker (docs/jobs.md) to carry them out.
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
        return "", response.status  # Xero wants an empty body

    return app


if __name__ == "__main__":
    database = os.environ.get("BMS_XERO_DB", "sync.db")
    app = create_app(
        WebhookReceiver(
            key=os.environ["XERO_WEBHOOK_KEY"],
            jobs=SQLiteJobStore(database),
            links=SQLiteStore(database),
        )
    )
    app.run(port=8000)
