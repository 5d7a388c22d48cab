"""The organisation's reference data, cached: chart of accounts, tax rates, ShortCode.

A push needs the chart and the tax rates to check invoices before sending, and the
organisation's ShortCode to store each invoice's "View Xero Invoice" link; the three are read
together and kept for ``ttl`` seconds, so a batch costs no extra calls. The ShortCode is
optional: if the organisation can't be read the links open the invoice without it, and that
failure is remembered for a while rather than retried per push (a push must not spend its
budget on a cosmetic while Xero is unwell).

Xero is never called while the lock is held: a slow Xero would otherwise hold up every
thread that only wants what is cached. Two threads that find the cache stale may both
fetch; the second to finish simply replaces the first's copy with an equal one.
"""

from __future__ import annotations

import logging
import threading

import attrs

from bms_xero.clock import Clock
from bms_xero.domain import Organisation
from bms_xero.engine._ports import XeroApi
from bms_xero.engine.push_plan import Reference
from bms_xero.errors import BmsXeroError

__all__ = ["ReferenceCache"]

log = logging.getLogger("bms_xero.engine")

#: Seconds before asking again for an organisation that could not be read.
ORG_RETRY_AFTER = 300.0


@attrs.define
class _Cached:
    reference: Reference
    fetched_at: float


class ReferenceCache:
    """Reference data for one organisation, fetched on demand and kept for ``ttl`` seconds."""

    def __init__(self, client: XeroApi, clock: Clock, ttl: float) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._organisation: Organisation | None = None
        self._org_failed_at: float | None = None

    def get(self, *, refresh: bool = False) -> Reference:
        """The chart, tax rates and ShortCode: cached unless stale or ``refresh``.

        Raises:
            BmsXeroError: The chart or the tax rates could not be read.
        """
        now = self._clock.monotonic()
        with self._lock:
            cached = self._cached
        if not refresh and cached is not None and now - cached.fetched_at < self._ttl:
            return attrs.evolve(cached.reference, refreshed=False)
        chart = self._client.get_accounts()
        tax_rates = self._client.get_tax_rates()
        organisation = self._try_organisation()
        reference = Reference(
            chart=chart,
            tax_rates=tax_rates,
            short_code=None if organisation is None else organisation.short_code,
            refreshed=True,
        )
        with self._lock:
            self._cached = _Cached(reference, now)
        return reference

    def short_code(self) -> str | None:
        """The ShortCode if it is known already (never asks Xero)."""
        with self._lock:
            known = self._organisation
        return None if known is None else known.short_code

    def organisation(self, *, refresh: bool = False) -> Organisation:
        """The organisation (name, ShortCode, base currency), cached for the engine's life.

        Raises:
            BmsXeroError: It could not be read.
        """
        with self._lock:
            known = self._organisation
        if known is not None and not refresh:
            return known
        organisation = self._client.get_organisation()
        with self._lock:
            self._organisation = organisation
            self._org_failed_at = None
        return organisation

    def _try_organisation(self) -> Organisation | None:
        with self._lock:
            known, failed_at = self._organisation, self._org_failed_at
        if known is not None:
            return known
        if failed_at is not None and self._clock.monotonic() - failed_at < ORG_RETRY_AFTER:
            return None
        try:
            return self.organisation()
        except BmsXeroError as e:
            with self._lock:
                self._org_failed_at = self._clock.monotonic()
            log.info(
                "no ShortCode for deep links (%s); links open the last-used organisation",
                type(e).__name__,
            )
            return None
