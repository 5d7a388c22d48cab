"""examples/webhook_flask.py and examples/webhook_starlette.py, driven by their test clients."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from bms_xero.jobs import JobKind, MemoryJobStore
from bms_xero.storage import MemoryStore, SyncRecord, SyncState
from bms_xero.webhooks import SIGNATURE_HEADER, WebhookReceiver, sign
from tests.webhooks._support import KEY, TENANT, delivery, event

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

Post = Callable[[bytes, dict[str, str]], tuple[int, bytes]]


def load(name: str) -> ModuleType:
    """Import an example script as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(name="jobs")
def _jobs() -> MemoryJobStore:
    """Where the pulls go."""
    return MemoryJobStore()


@pytest.fixture(name="receiver")
def _receiver(jobs: MemoryJobStore) -> WebhookReceiver:
    """A receiver whose sync store links BMS invoice I-1 to Xero invoice X-1."""
    links = MemoryStore()
    links.put(
        SyncRecord(
            tenant_id=TENANT,
            invoice_id="I-1",
            invoice_number="INV-1",
            state=SyncState.PUSHED,
            xero_invoice_id="X-1",
        ),
        expected_version=None,
    )
    return WebhookReceiver(key=KEY, jobs=jobs, links=links)


@pytest.fixture(name="post", params=["webhook_flask.py", "webhook_starlette.py"])
def _post(request: pytest.FixtureRequest, receiver: WebhookReceiver) -> Iterator[Post]:
    """POST to /xero/webhooks of one example app, through the framework's test client."""
    module = load(request.param)
    app = module.create_app(receiver)
    if request.param == "webhook_flask.py":
        client = app.test_client()

        def post_flask(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
            answer = client.post("/xero/webhooks", data=body, headers=headers)
            return answer.status_code, answer.get_data()

        yield post_flask
    else:
        from starlette.testclient import TestClient

        with TestClient(app) as http:

            def post_starlette(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
                answer = http.post("/xero/webhooks", content=body, headers=headers)
                return answer.status_code, answer.content

            yield post_starlette


def test_intent_to_receive_is_answered(post: Post) -> None:
    """Xero's handshake gets 200 for the right signature and 401 for a wrong one, with an
    empty body each time."""
    probe = delivery()
    good = post(probe, {"x-xero-signature": sign(probe, KEY), "content-type": "application/json"})
    bad = post(probe, {"X-Xero-Signature": sign(probe, "wrong-key")})
    missing = post(probe, {})
    assert [(200, b""), (401, b""), (401, b"")] == [good, bad, missing]


def test_an_invoice_event_queues_a_pull(post: Post, jobs: MemoryJobStore) -> None:
    """A signed INVOICE event for a linked invoice queues a pull of that invoice."""
    body = delivery(event("X-1"))
    assert (200, b"") == post(body, {SIGNATURE_HEADER: sign(body, KEY)})
    assert [(JobKind.PULL_INVOICES, "I-1")] == [(j.kind, j.invoice_id) for j in jobs.list_jobs()]


def test_a_signed_unreadable_body_is_a_400(post: Post, jobs: MemoryJobStore) -> None:
    """A correctly signed body that is not a payload gets 400 and queues nothing."""
    body = b'{"events": "not a list"}'
    assert (400, b"") == post(body, {SIGNATURE_HEADER: sign(body, KEY)})
    assert [] == jobs.list_jobs()


def test_the_flask_app_reads_the_raw_body_even_for_form_posts(receiver: WebhookReceiver) -> None:
    """A body posted with a form content type still reaches the signature check unchanged."""
    app = load("webhook_flask.py").create_app(receiver)
    body = delivery(event("X-1"))
    answer = app.test_client().post(
        "/xero/webhooks",
        data=body,
        headers={
            SIGNATURE_HEADER: sign(body, KEY),
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert 200 == answer.status_code


def test_the_starlette_module_builds_no_app_without_a_key() -> None:
    """Imported without XERO_WEBHOOK_KEY set, the Starlette example opens nothing."""
    assert None is load("webhook_starlette.py").app
