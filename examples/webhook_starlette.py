"""Receive Xero's webhooks in a Starlette (or FastAPI) app: verify, answer, queue pulls.

Run: XERO_WEBHOOK_KEY=... uvicorn webhook_starlette:app --app-dir examples --port 8000
(with XERO_TENANT_IDS=<id>,<id>, optional but recommended: the organisations served)

The receiver does a little blocking I/O (the SQLite job store), so the handler runs it in
Starlette's thread pool instead of on the event loop. FastAPI is the same code: take
``request: Request`` in a ``@app.post("/xero/webhooks")`` route and return the Response.
Every correctly signed delivery gets 200, even one that can't be read: then the organisations
in XERO_TENANT_IDS (optional, comma-separated; or those the body names) are pulled instead.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bms_xero.jobs import SQLiteJobStore
from bms_xero.storage import SQLiteStore
from bms_xero.webhooks import SIGNATURE_HEADER, WebhookReceiver


def create_app(receiver: WebhookReceiver) -> Starlette:
    """A Starlette app answering Xero's webhooks at POST /xero/webhooks."""

    async def xero_webhooks(request: Request) -> Response:
        body = await request.body()  # the raw bytes Xero signed
        response = await run_in_threadpool(receiver, body, request.headers.get(SIGNATURE_HEADER))
        return Response(status_code=response.status)  # 200 or 401; Xero wants an empty body

    return Starlette(routes=[Route("/xero/webhooks", xero_webhooks, methods=["POST"])])


def tenant_ids_from_environment() -> list[str] | None:
    """XERO_TENANT_IDS, comma-separated: the organisations this BMS serves (None if unset)."""
    given = os.environ.get("XERO_TENANT_IDS", "")
    return [t.strip() for t in given.split(",") if t.strip()] or None


def from_environment() -> Starlette | None:
    """The app on the SQLite file BMS_XERO_DB (default sync.db), keyed by XERO_WEBHOOK_KEY;
    ``None`` without a key (imported by tests, or by a host that builds its own receiver)."""
    key = os.environ.get("XERO_WEBHOOK_KEY")
    if not key:
        return None
    database = os.environ.get("BMS_XERO_DB", "sync.db")
    return create_app(
        WebhookReceiver(
            key=key,
            jobs=SQLiteJobStore(database),
            links=SQLiteStore(database),
            tenant_ids=tenant_ids_from_environment(),
        )
    )


app = from_environment()
