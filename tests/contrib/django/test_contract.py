"""The public contract suites, run against the Django ORM stores on SQLite and PostgreSQL.

Every check makes its own random tenant (or connection) ids, so the checks share the
databases without flushing them between tests.
"""

from __future__ import annotations

import pytest

from bms_xero.contrib.django.stores import DjangoSyncStore, DjangoTokenStore
from bms_xero.storage import CreditNoteStore, RefreshLease, SyncStore, TokenStore
from bms_xero.storage.contract import (
    CHECKS,
    CREDIT_NOTE_CHECKS,
    REFRESH_LEASE_CHECKS,
    ContractCheck,
    run_contract,
    run_credit_note_contract,
    run_refresh_lease_contract,
)


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_sync_store_keeps_the_contract(check: ContractCheck, alias: str) -> None:
    """Each storage contract check holds for DjangoSyncStore."""
    check(DjangoSyncStore(using=alias))


@pytest.mark.parametrize("check", CREDIT_NOTE_CHECKS, ids=str)
def test_sync_store_keeps_the_credit_note_contract(check: ContractCheck, alias: str) -> None:
    """Each credit note contract check holds for DjangoSyncStore."""
    check(DjangoSyncStore(using=alias))


@pytest.mark.parametrize("check", REFRESH_LEASE_CHECKS, ids=str)
def test_token_store_keeps_the_refresh_lease_contract(check: ContractCheck, alias: str) -> None:
    """Each refresh lease contract check holds for DjangoTokenStore."""
    check(DjangoTokenStore(using=alias))


def test_stores_are_what_the_engine_and_the_client_take(alias: str) -> None:
    """The stores satisfy the runtime-checkable ports they claim."""
    sync, tokens = DjangoSyncStore(using=alias), DjangoTokenStore(using=alias)
    assert (True, True, True, True) == (
        isinstance(sync, SyncStore),
        isinstance(sync, CreditNoteStore),
        isinstance(tokens, TokenStore),
        isinstance(tokens, RefreshLease),
    )


def test_the_run_calls_pass_as_the_docs_show(alias: str) -> None:
    """run_contract and its credit note and refresh lease twins, as docs/django.md shows a
    host calling them on its own database, return quietly."""
    run_contract(lambda: DjangoSyncStore(using=alias))
    run_credit_note_contract(lambda: DjangoSyncStore(using=alias))
    run_refresh_lease_contract(lambda: DjangoTokenStore(using=alias))
