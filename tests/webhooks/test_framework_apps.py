"""examples/webhook_flask.py and examples/webhook_starlette.py, driven by their test clients."""

from __future__ import annotations

import gc
import importlib.util
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bms_xero.jobs import JobKind, MemoryJobStore, SQLiteJobStore
from bms_xero.storage import MemoryStore, SyncRecord, SyncState
from bms_xero.webhooks import SIGNATURE_HEADER, WebhookReceiver, sign
from tests.webhooks._support import KEY, TENANT, delivery, event

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APPS = ["webhook_flask.py", "webhook_starlette.py"]
OTHER_TENANT = "5b1f6c1e-2a3d-4e5f-8a9b-0c1d2e3f4a5b"

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


@pytest.fixture(name="post", params=APPS)
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


def test_a_money_event_queues_a_pull_of_its_tenant(post: Post, jobs: MemoryJobStore) -> None:
    """A signed PAYMENT event queues one ordinary pull of its organisation."""
    body = delivery(event("P-1", category="PAYMENT"), event("CN-1", category="CREDITNOTE"))
    assert (200, b"") == post(body, {SIGNATURE_HEADER: sign(body, KEY)})
    assert [(JobKind.PULL, TENANT)] == [(j.kind, j.tenant_id) for j in jobs.list_jobs()]


def test_a_signed_unreadable_body_gets_200_and_a_pull(post: Post, jobs: MemoryJobStore) -> None:
    """A correctly signed body we can't read (a date in the year 10000) gets 200 with an
    empty body, and the pull of its tenant is queued instead."""
    body = delivery(event("X-1", date="/Date(99999999999999999999)/"))
    assert (200, b"") == post(body, {SIGNATURE_HEADER: sign(body, KEY)})
    assert [(JobKind.PULL, TENANT)] == [(j.kind, j.tenant_id) for j in jobs.list_jobs()]


def test_a_signed_body_of_no_shape_gets_200(post: Post, jobs: MemoryJobStore) -> None:
    """A correctly signed body that is not a payload at all gets 200 and queues nothing."""
    body = b'{"events": "not a list"}'
    assert (200, b"") == post(body, {SIGNATURE_HEADER: sign(body, KEY)})
    assert [] == jobs.list_jobs()


def post_to(app: Any, name: str, body: bytes) -> int:
    """POST a correctly signed ``body`` to /xero/webhooks of an example app; the status."""
    headers = {SIGNATURE_HEADER: sign(body, KEY)}
    if name == "webhook_flask.py":
        return int(app.test_client().post("/xero/webhooks", data=body, headers=headers).status_code)
    from starlette.testclient import TestClient

    with TestClient(app) as http:
        return http.post("/xero/webhooks", content=body, headers=headers).status_code


@pytest.mark.parametrize("name", APPS)
def test_a_failing_job_store_still_gets_200(name: str) -> None:
    """With a job store that raises, the app still answers 200 (a 500 or 503 for 24 hours
    would get the webhook disabled)."""
    jobs = MemoryJobStore()
    jobs.close()
    app = load(name).create_app(WebhookReceiver(key=KEY, jobs=jobs, links=MemoryStore()))
    assert 200 == post_to(app, name, delivery(event("P-1", category="PAYMENT")))


@pytest.mark.parametrize("name", APPS)
def test_the_app_from_the_environment_pulls_the_tenants_served(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built from XERO_WEBHOOK_KEY, BMS_XERO_DB and XERO_TENANT_IDS, each example queues its
    jobs in the SQLite file, and pulls every tenant served when a signed body can't be read."""
    database = tmp_path / "sync.db"
    monkeypatch.setenv("XERO_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("BMS_XERO_DB", str(database))
    monkeypatch.setenv("XERO_TENANT_IDS", f" {TENANT}, {OTHER_TENANT} ,")
    module = load(name)
    app = module.app if name == "webhook_starlette.py" else module.from_environment()
    unreadable = delivery(event("P-1", category="PAYMENT", date="/Date(99999999999999999999)/"))
    statuses = [post_to(app, name, delivery()), post_to(app, name, unreadable)]
    del app, module
    with warnings.catch_warnings():  # the example keeps its stores open for the process's life
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    with SQLiteJobStore(database) as jobs:
        queued = sorted((j.kind, j.tenant_id) for j in jobs.list_jobs())
    assert ([200, 200], [(JobKind.PULL, OTHER_TENANT), (JobKind.PULL, TENANT)]) == (
        statuses,
        queued,
    )


def test_tenant_ids_are_optional_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without XERO_TENANT_IDS (or with only commas in it) the examples serve every tenant."""
    results = []
    for value in (None, " , "):
        if value is None:
            monkeypatch.delenv("XERO_TENANT_IDS", raising=False)
        else:
            monkeypatch.setenv("XERO_TENANT_IDS", value)
        results += [load(name).tenant_ids_from_environment() for name in APPS]
    assert [None] * 4 == results


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
