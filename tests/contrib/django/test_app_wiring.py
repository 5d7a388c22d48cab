"""The composition root: one engine per process per tenant, built without any network or
credentials; the host's sources from dotted paths; workers of the configured queues."""

from __future__ import annotations

from typing import Any

import pytest

from bms_xero.contrib.django import wiring
from bms_xero.contrib.django.stores import DjangoJobStore, DjangoSyncStore
from bms_xero.errors import ConfigurationError
from bms_xero.jobs import JobKind, JobStatus
from tests.contrib.django.app_support import *  # noqa: F403
from tests.contrib.django.app_support import App


class Customers:
    """A host's CustomerSource."""

    def get_customer(self, tenant_id: str, customer_id: str) -> Any:
        from bms_xero import Customer

        return Customer(id=customer_id, name="Nobody Yet Ltd")


class NotASource:
    pass


def test_one_engine_per_process_built_without_a_request(app: App, monkeypatch: Any) -> None:
    """get_engine builds the engine once, over the Django stores, sending nothing and reading
    no credentials."""
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_ID")
    engine = wiring.get_engine()
    assert (True, app.tenant_id, [], True, True) == (
        engine is wiring.get_engine(),
        engine.tenant_id,
        app.xero.requests,
        isinstance(wiring.get_store(), DjangoSyncStore),
        isinstance(wiring.get_jobs(), DjangoJobStore),
    )


def test_another_tenant_gets_its_own_engine_on_the_same_client(app: App) -> None:
    """Each tenant has its own engine; they share the client (its limiter and tokens)."""
    other = app.xero.add_tenant("Second Org")
    first, second = wiring.get_engine(), wiring.get_engine(other)
    assert (other, False, True) == (
        second.tenant_id,
        first is second,
        first._client.limiter is second._client.limiter,  # type: ignore[attr-defined]
    )


def test_changing_the_setting_rebuilds_everything(app: App) -> None:
    """After BMS_XERO changes (override_settings), a new engine follows the new settings."""
    before = wiring.get_engine()
    with app.settings(MARK_SENT=True):
        after = wiring.get_engine()
    assert (False, True) == (before is after, after._pusher._mark_sent)


def test_credentials_come_from_the_environment(app: App, monkeypatch: Any) -> None:
    """The client id and secret are read from the variables the settings name; a missing
    one is named (never a value) with where to set it."""
    creds = wiring.credentials()
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_SECRET")
    with pytest.raises(ConfigurationError) as caught:
        wiring.credentials()
    assert (app.xero.client_id, "Credentials(client_id=", True, False) == (
        creds.client_id,
        repr(creds)[:22],
        str(caught.value).startswith(
            "the environment variable BMS_XERO_TEST_CLIENT_SECRET (named by "
            "BMS_XERO['CLIENT_SECRET_ENV']) is not set"
        ),
        app.xero.client_secret in repr(creds),
    )


def test_an_app_connection_needs_no_secret(app: App, monkeypatch: Any) -> None:
    """A PKCE app connection has no secret: credentials() allows it missing."""
    monkeypatch.delenv("BMS_XERO_TEST_CLIENT_SECRET")
    with app.settings(CONNECTION_ID="default"):
        assert None is wiring.credentials().client_secret


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("tests.contrib.django.nowhere.Invoices", "can't be imported"),
        ("tests.contrib.django.test_app_wiring.NotASource", "has no get(tenant_id, invoice_id)"),
    ],
)
def test_a_bad_invoice_source_is_named(app: App, path: str, words: str) -> None:
    """An INVOICE_SOURCE that can't be imported, or is not an InvoiceSource, is refused with
    the key and what is wrong."""
    with app.settings(INVOICE_SOURCE=path), pytest.raises(ConfigurationError) as caught:
        wiring.get_invoice_source()
    assert (True, True) == (
        str(caught.value).startswith(f"BMS_XERO['INVOICE_SOURCE'] = {path!r}"),
        words in str(caught.value),
    )


def test_a_payment_sink_that_is_not_one_is_named(app: App) -> None:
    """A PAYMENT_SINK without apply(update) is refused."""
    path = "tests.contrib.django.test_app_wiring.NotASource"
    with app.settings(PAYMENT_SINK=path), pytest.raises(ConfigurationError) as caught:
        wiring.get_engine()
    assert "has no apply(update) method" in str(caught.value)


def test_the_worker_takes_its_queues_and_links_customers(app: App) -> None:
    """make_worker serves BMS_XERO['QUEUE'] (or the queues given) and, with a
    CUSTOMER_SOURCE, runs customer-link jobs too."""
    customers = "tests.contrib.django.test_app_wiring.Customers"
    with app.settings(QUEUE="web", CUSTOMER_SOURCE=customers):
        worker = wiring.make_worker()
        job = wiring.get_jobs().enqueue_link_customer(
            app.tenant_id, "C-2", now=app.xero.clock.now(), queue="web"
        )
        report = worker.run_pending()
    assert (("web",), ("batch",), [(JobKind.LINK_CUSTOMER, JobStatus.DONE)]) == (
        worker.queues,
        wiring.make_worker(queues=["batch"]).queues,
        [(j.kind, j.status) for j in report.jobs if j.id == job.id],
    )


def test_a_worker_without_customers_leaves_link_jobs(app: App) -> None:
    """Without a CUSTOMER_SOURCE, customer-link jobs wait for a worker that has one."""
    wiring.get_jobs().enqueue_link_customer(app.tenant_id, "C-2", now=app.xero.clock.now())
    assert 0 == wiring.make_worker().run_pending().ran


def test_auto_link_customers_pushes_an_unlinked_customer(app: App) -> None:
    """With AUTO_LINK_CUSTOMERS the worker's push links the customer itself and succeeds."""
    from bms_xero.contrib.django.release import queue_push

    app.invoice(1, linked=False)
    with app.settings(AUTO_LINK_CUSTOMERS=True):
        queue_push("I-1", invoice_number="INV-0001")
        report = wiring.make_worker().run_pending()
    assert ([JobStatus.DONE], ["Nobody Yet Ltd"]) == (
        [j.status for j in report.jobs if j.kind is JobKind.PUSH],
        [c["Name"] for c in app.xero.contacts() if c["Name"] == "Nobody Yet Ltd"],
    )
