"""The command's composition root: settings in, client, engine and stores out.

Everything is built on first use and closed by :meth:`Runtime.close`, so a command that only
reads the SQLite file (``jobs``, ``retry``, ``panel``) never needs Xero credentials, and one
that fails early leaves nothing open.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import httpx

from bms_xero.cli._config import Settings
from bms_xero.cli._saved import SavedSettings
from bms_xero.cli._snapshots import TABLE as SNAPSHOTS
from bms_xero.cli._snapshots import SQLiteInvoiceSnapshots
from bms_xero.clock import Clock, SystemClock
from bms_xero.engine import SyncEngine
from bms_xero.errors import ConfigurationError, StorageError
from bms_xero.jobs import SQLiteJobStore
from bms_xero.jobs._sqlite import JOBS
from bms_xero.storage import SQLiteStore
from bms_xero.storage._sqlite_store import RECORDS
from bms_xero.storage._tokens import SQLiteTokenStore
from bms_xero.transport import HttpxTransport, Request, Response
from bms_xero.xero import Authenticator, ClientCredentials, RefreshTokenAuth, XeroClient

__all__ = ["Runtime"]

#: The tables whose rows name an organisation: sync records, jobs, invoices queued for the
#: worker.
_TENANT_TABLES = (RECORDS, JOBS, SNAPSHOTS)


class _NoXero:
    """Transport and authenticator of an engine that reads the store only (``panel``): any
    attempt to reach Xero is a bug, reported as one rather than sent."""

    def _refuse(self) -> ConfigurationError:
        return ConfigurationError(
            "this command reads the SQLite file only and never calls Xero (a bms_xero bug)"
        )

    def send(self, request: Request, *, timeout: float | None = None) -> Response:
        raise self._refuse()

    def access_token(self, transport: object, clock: Clock) -> str:
        raise self._refuse()

    def invalidate(self, access_token: str) -> None:
        pass

    def close(self) -> None:
        pass


class Runtime:
    """Builds what a command needs from its settings, once.

    Args:
        settings: The effective settings.
        clock: Time for the engine and the jobs (a ``FakeClock`` in tests).
        http_client: The httpx client to send with (tests pass one over ``FakeXero``'s
            transport); by default one with explicit timeouts, closed with the runtime.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._http_client = http_client
        self._store: SQLiteStore | None = None
        self._jobs: SQLiteJobStore | None = None
        self._snapshots: SQLiteInvoiceSnapshots | None = None
        self._tokens: SQLiteTokenStore | None = None
        self._saved: SavedSettings | None = None
        self._client: XeroClient | None = None
        self._identity: XeroClient | None = None
        self._engine: SyncEngine | None = None

    def __repr__(self) -> str:
        return f"Runtime(db={self.settings.db!r}, tenant_id={self.settings.tenant_id!r})"

    @property
    def db(self) -> str:
        """The SQLite file (a ``ConfigurationError`` says how to set it when missing)."""
        return str(self.settings.require("db"))

    def store(self) -> SQLiteStore:
        """The sync store."""
        if self._store is None:
            self._store = SQLiteStore(self.db)
        return self._store

    def jobs(self) -> SQLiteJobStore:
        """The background job store (same file)."""
        if self._jobs is None:
            self._jobs = SQLiteJobStore(self.db)
        return self._jobs

    def snapshots(self) -> SQLiteInvoiceSnapshots:
        """The invoices queued by ``push --background`` (same file)."""
        if self._snapshots is None:
            self._snapshots = SQLiteInvoiceSnapshots(self.db)
        return self._snapshots

    @property
    def client_secret(self) -> str | None:
        """The client secret, if one is set (a PKCE app has none)."""
        secret = self.settings.client_secret
        return None if secret is None else secret.reveal()

    def tokens(self) -> SQLiteTokenStore:
        """The app connections' tokens (same file)."""
        if self._tokens is None:
            self._tokens = SQLiteTokenStore(self.db)
        return self._tokens

    def saved(self) -> SavedSettings:
        """The settings ``connect`` saves (same file)."""
        if self._saved is None:
            self._saved = SavedSettings(self.db)
        return self._saved

    def transport(self) -> HttpxTransport:
        """A new transport over the command's httpx client (or a default one); the caller
        closes it (which closes only an httpx client it made itself)."""
        if self._http_client is None:
            return HttpxTransport.default()
        return HttpxTransport(self._http_client)

    def _auth(self) -> Authenticator:
        s = self.settings
        client_id: str = s.require("client_id")
        if s.connection_id is None:
            secret = s.require("client_secret").reveal()
            return ClientCredentials(client_id, secret, token_url=s.token_url)
        # An app connection: without a secret it is a PKCE app's.
        return RefreshTokenAuth(
            client_id,
            self.client_secret,
            self.tokens(),
            connection_id=s.connection_id,
            token_url=s.token_url,
        )

    def _new_client(self, tenant_id: str | None) -> XeroClient:
        return XeroClient(
            self.transport(),
            auth=self._auth(),
            tenant_id=tenant_id,
            clock=self.clock,
            base_url=self.settings.api_url,
            connections_url=self.settings.connections_url,
        )

    def client(self) -> XeroClient:
        """The Xero client, bound to the organisation (found via ``/connections`` if unset)."""
        if self._client is not None:
            return self._client
        client = self._new_client(self.settings.tenant_id)
        try:
            if self.settings.tenant_id is None:
                client = client.with_tenant(self._only_tenant(client))
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def identity_client(self) -> XeroClient:
        """A client bound to no organisation, for ``/connections`` (list, disconnect)."""
        if self._identity is None:
            self._identity = self._new_client(None)
        return self._identity

    @staticmethod
    def _only_tenant(client: XeroClient) -> str:
        organisations = [
            c for c in client.connections() if (c.tenant_type or "ORGANISATION") == "ORGANISATION"
        ]
        if len(organisations) == 1:
            return organisations[0].tenant_id
        if not organisations:
            raise ConfigurationError(
                "these credentials are not connected to any Xero organisation; connect the app "
                "to one (`bms-xero connect`, or in Xero), then try again"
            )
        listed = ", ".join(f"{c.tenant_id} ({c.tenant_name or 'unnamed'})" for c in organisations)
        raise ConfigurationError(
            f"these credentials reach {len(organisations)} organisations ({listed}); choose one "
            "with --tenant-id or BMS_XERO_TENANT_ID, or save one with `bms-xero connections "
            "--use TENANT_ID`"
        )

    @property
    def tenant_id(self) -> str:
        """The organisation: the configured one, else the one the credentials reach (asks
        Xero's ``/connections``)."""
        if self.settings.tenant_id is not None:
            return self.settings.tenant_id
        tenant = self.client().tenant_id
        assert tenant is not None  # client() binds one
        return tenant

    def known_tenants(self) -> list[str]:
        """The organisations the SQLite file holds anything for (sync records, jobs, queued
        invoices), sorted; read without Xero."""
        self.store()  # creates the file (and its tables) like every other command
        try:
            with closing(sqlite3.connect(self.db, timeout=5.0)) as conn:
                present = {
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                }
                selects = [
                    f"SELECT DISTINCT tenant_id FROM {t}"  # noqa: S608 (constant table names)
                    for t in _TENANT_TABLES
                    if t in present
                ]
                if not selects:
                    return []
                rows = conn.execute(" UNION ".join(selects) + " ORDER BY 1").fetchall()
        except sqlite3.Error as e:
            raise StorageError(f"{self.db}: could not list its organisations ({e})") from e
        return [str(tenant) for (tenant,) in rows]

    def store_engine(self, tenant_id: str) -> SyncEngine:
        """An engine for ``tenant_id`` over the store alone, for what reads it only (the
        panel): no credentials are needed, and nothing is ever sent to Xero."""
        offline = _NoXero()
        client = XeroClient(offline, auth=offline, tenant_id=tenant_id, clock=self.clock)
        return SyncEngine(
            client=client,
            store=self.store(),
            tax_map=dict(self.settings.tax_map),
            clock=self.clock,
        )

    def engine(self) -> SyncEngine:
        """The sync engine for the organisation."""
        if self._engine is None:
            self._engine = SyncEngine(
                client=self.client(),
                store=self.store(),
                tax_map=dict(self.settings.tax_map),
                clock=self.clock,
            )
        return self._engine

    def close(self) -> None:
        """Close everything that was opened."""
        for thing in (
            self._client,
            self._identity,
            self._store,
            self._jobs,
            self._tokens,
            self._snapshots,
            self._saved,
        ):
            if thing is not None:
                thing.close()
        self._client = self._identity = None
        self._store = self._jobs = self._tokens = None
        self._snapshots = self._saved = None
        self._engine = None
