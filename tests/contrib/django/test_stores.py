"""What the Django stores add to the contracts: tokens, the host's transactions, typed
refusals before anything is written, and migrations that match the models."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from bms_xero.contrib.django import models
from bms_xero.contrib.django.stores import DjangoSyncStore, DjangoTokenStore
from bms_xero.errors import ConfigurationError, StorageValueError, VersionConflict
from bms_xero.storage import StoredToken, SyncRecord, SyncState, TokenSet

EXPIRES = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _token(n: int = 1) -> TokenSet:
    return TokenSet(
        access_token=f"ACCESS-{n}",
        refresh_token=f"REFRESH-{n}",
        expires_at=EXPIRES,
        scopes=("offline_access", "accounting.invoices"),
    )


def _record(tenant: str, invoice_id: str = "I-1", **changes: object) -> SyncRecord:
    values: dict[str, object] = {
        "tenant_id": tenant,
        "invoice_id": invoice_id,
        "invoice_number": f"INV-{invoice_id}",
        "state": SyncState.PENDING,
    }
    values.update(changes)
    return SyncRecord(**values)  # type: ignore[arg-type]


class TestTokens:
    def test_save_load_and_compare_and_swap(self, alias: str) -> None:
        """A first save is version 1, the next bumps it, a stale one conflicts and keeps the
        winner's tokens."""
        store, conn = DjangoTokenStore(using=alias), _unique("conn")
        first = store.save(conn, _token(1), expected_version=None)
        second = store.save(conn, _token(2), expected_version=1)
        with pytest.raises(VersionConflict) as caught:
            store.save(conn, _token(3), expected_version=1)
        assert (StoredToken(_token(1), 1), StoredToken(_token(2), 2), (1, 2)) == (
            first,
            second,
            (caught.value.expected_version, caught.value.actual_version),
        )
        assert StoredToken(_token(2), 2) == store.load(conn)

    def test_creating_twice_conflicts(self, alias: str) -> None:
        """Two first saves for one connection: the second conflicts, naming version 1."""
        store, conn = DjangoTokenStore(using=alias), _unique("conn")
        store.save(conn, _token(1), expected_version=None)
        with pytest.raises(VersionConflict) as caught:
            store.save(conn, _token(2), expected_version=None)
        assert 1 == caught.value.actual_version

    def test_round_trip_keeps_the_instant_and_scopes(self, alias: str) -> None:
        """An expiry in any offset reads back as the same instant in UTC; no refresh token
        stays None."""
        store, conn = DjangoTokenStore(using=alias), _unique("conn")
        token = TokenSet(
            access_token="a",
            expires_at=datetime(2026, 1, 5, 11, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
            scopes="openid accounting.invoices",
        )
        store.save(conn, token, expected_version=None)
        loaded = store.load(conn)
        assert loaded is not None
        assert (token, timedelta(0)) == (loaded.token, loaded.token.expires_at.utcoffset())

    def test_delete_forgets_tokens_and_ends_the_lease(self, alias: str) -> None:
        """After delete there are no tokens, and another holder may claim the refresh."""
        store, conn = DjangoTokenStore(using=alias), _unique("conn")
        store.save(conn, _token(), expected_version=None)
        store.acquire_refresh_lease(conn, holder="a", now=EXPIRES, seconds=30)
        store.delete(conn)
        assert (None, True) == (
            store.load(conn),
            store.acquire_refresh_lease(conn, holder="b", now=EXPIRES, seconds=30),
        )

    def test_bad_arguments_are_refused_before_writing(self, alias: str) -> None:
        """An empty connection id, a connection id longer than the column and a naive lease
        time are StorageValueErrors, and nothing is stored."""
        store = DjangoTokenStore(using=alias)
        too_long = "c" * (models.KEY_LENGTH + 1)
        for bad in ("", too_long):
            with pytest.raises(StorageValueError):
                store.save(bad, _token(), expected_version=None)
        with pytest.raises(StorageValueError):
            store.acquire_refresh_lease(
                "conn", holder="a", now=EXPIRES.replace(tzinfo=None), seconds=30
            )
        assert 0 == models.Token.objects.using(alias).filter(connection_id=too_long).count()

    def test_no_token_in_reprs_or_strs(self, alias: str) -> None:
        """Neither the store, the row nor the loaded value shows a token."""
        store, conn = DjangoTokenStore(using=alias), _unique("conn")
        store.save(conn, _token(7), expected_version=None)
        row = models.Token.objects.using(alias).get(connection_id=conn)
        shown = " ".join([repr(store), repr(row), str(row), repr(store.load(conn))])
        assert [] == [secret for secret in ("ACCESS-7", "REFRESH-7") if secret in shown]


class TestHostTransactions:
    def test_a_write_rolls_back_with_the_hosts_transaction(self, alias: str) -> None:
        """A put made inside the host's atomic block is undone when the host's block fails,
        so "release the invoice and record it" is all or nothing."""
        store, tenant = DjangoSyncStore(using=alias), _unique("tenant")

        class HostFailed(Exception):
            pass

        with pytest.raises(HostFailed), transaction.atomic(using=alias):
            store.put(_record(tenant), expected_version=None)
            raise HostFailed
        assert None is store.get(tenant, "I-1")

    def test_a_conflict_inside_the_hosts_transaction_leaves_it_usable(self, alias: str) -> None:
        """A VersionConflict on PostgreSQL does not poison the host's transaction: the host
        may catch it and go on writing."""
        store, tenant = DjangoSyncStore(using=alias), _unique("tenant")
        store.put(_record(tenant), expected_version=None)
        with transaction.atomic(using=alias):
            with pytest.raises(VersionConflict):
                store.put(_record(tenant), expected_version=None)
            store.put(_record(tenant, "I-2"), expected_version=None)
        assert [1, 1] == [r.version for r in store.get_many(tenant, ["I-1", "I-2"]).values()]


class TestRefusals:
    def test_a_key_longer_than_its_column_is_refused_and_nothing_written(self, alias: str) -> None:
        """put_many checks every record first: one invoice id over the column's length
        refuses the whole batch with the field named."""
        store, tenant = DjangoSyncStore(using=alias), _unique("tenant")
        long_id = "I" * (models.KEY_LENGTH + 1)
        with pytest.raises(StorageValueError) as caught:
            store.put_many(
                [
                    (_record(tenant, "I-1"), None),
                    (_record(tenant, long_id, invoice_number="INV-2"), None),
                ]
            )
        assert (["invoice_id"], None) == (
            [p.path for p in caught.value.problems],
            store.get(tenant, "I-1"),
        )

    def test_money_keeps_its_digits_in_the_column(self, alias: str) -> None:
        """Money is stored as its exact text, so the host's own queries read it exactly."""
        store, tenant = DjangoSyncStore(using=alias), _unique("tenant")
        store.put(_record(tenant, total=Decimal("23.1000")), expected_version=None)
        row = models.SyncRecord.objects.using(alias).get(tenant_id=tenant)
        assert (Decimal("23.1000"), "23.1000") == (row.total, str(row.total))
        assert store.get(tenant, "I-1") == row.as_value()

    def test_an_unknown_alias_is_a_configuration_error(self) -> None:
        """A store on an alias that is not in DATABASES is refused when made, naming the
        aliases there are."""
        with pytest.raises(ConfigurationError, match="'default', 'deferred', 'postgres'"):
            DjangoSyncStore(using="nowhere")


def test_migrations_match_the_models() -> None:
    """makemigrations finds nothing to do: the checked-in migrations describe the models."""
    try:
        with warnings.catch_warnings():
            # It also checks each database's migration history; a PostgreSQL that is not
            # there is a warning, and the databases are not what this test is about.
            warnings.filterwarnings("ignore", "Got an error checking a consistent migration")
            call_command("makemigrations", "bms_xero", check=True, dry_run=True, verbosity=0)
    except SystemExit as exit_:
        pytest.fail(
            f"bms_xero models changed without a migration (exit {exit_.code}); run "
            "`django-admin makemigrations bms_xero` with tests.contrib.django.settings"
        )
