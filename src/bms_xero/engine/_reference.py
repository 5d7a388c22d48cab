"""The organisation's reference data, cached: chart of accounts, tax rates, ShortCode.

A push needs the chart and the tax rates to check invoices before sending, and the
organisation's ShortCode to store each invoice's "View Xero Invoice" link; the three are read
together and kept for ``ttl`` seconds, so a batch costs no extra calls. The ShortCode is
optional: if the organisation can't be read the links open the invoice without it, and that
failure is remembered for a while rather than retried per push (a push must not spend its
budget on a cosmetic while Xero is unwell).

Two more things are kept with it, each read only when a push needs it:

- the organisation's currencies (``GET /Currencies``), only once an invoice in a currency
  other than the base currency is checked, so an organisation that invoices in one
  currency never pays for the read;
- the contacts the pushes send invoices for, by ContactID: see :meth:`ReferenceCache.contacts`
  for why these, and not the whole contact list.

Xero is never called while the lock is held: a slow Xero would otherwise hold up every
thread that only wants what is cached. Two threads that find the cache stale may both
fetch; the second to finish simply replaces the first's copy with an equal one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import attrs

from bms_xero.clock import Clock
from bms_xero.domain import Organisation, XeroContact
from bms_xero.engine._ports import XeroApi
from bms_xero.engine.push_plan import Reference
from bms_xero.errors import BmsXeroError

__all__ = ["ReferenceCache"]

log = logging.getLogger("bms_xero.engine")

#: Seconds before asking again for an organisation that could not be read.
ORG_RETRY_AFTER = 300.0
#: ContactIDs per ``GET /Contacts?IDs=`` (keeps the URL short: 37 characters each).
CONTACTS_PER_READ = 50
#: Contacts kept at most; past this the oldest are forgotten (they are read again if needed).
MAX_CONTACTS = 10_000


@attrs.define
class _Cached:
    reference: Reference
    fetched_at: float


class ReferenceCache:
    """Reference data for one organisation, fetched on demand and kept for ``ttl`` seconds."""

    def __init__(
        self, client: XeroApi, clock: Clock, ttl: float, *, parallel: bool = False
    ) -> None:
        self._client = client
        self._parallel = parallel
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        self._organisation: Organisation | None = None
        self._org_failed_at: float | None = None
        self._currencies: tuple[frozenset[str] | None, float] | None = None
        self._contacts: dict[str, tuple[XeroContact, float]] = {}

    def get(
        self,
        *,
        refresh: bool = False,
        currencies: Iterable[str | None] = (),
        warmed: bool | BmsXeroError | None = None,
    ) -> Reference:
        """The chart, tax rates and ShortCode: cached unless stale or ``refresh``.

        ``currencies`` are those of the invoices to be checked: when one is not the base
        currency, the organisation's currencies come too (cached the same way; ``None`` in
        the reference when they could not be read: Xero then checks the currency itself).
        ``warmed`` is what the caller's own :meth:`warm` returned: ``True`` (it read the data
        for this push, so a cached answer counts as freshly read), or the error that stopped
        it (raised again rather than read, and waited through retries, twice).

        Raises:
            BmsXeroError: The chart or the tax rates could not be read.
        """
        now = self._clock.monotonic()
        with self._lock:
            cached = self._cached
        if isinstance(warmed, BmsXeroError) and not refresh:
            raise warmed  # the read ahead for this push failed: not read (and waited) twice
        if not refresh and cached is not None and now - cached.fetched_at < self._ttl:
            # Read ahead for this very push, it is as fresh as a read now: a code that looks
            # unknown in it must not cost the push a second read.
            reference = attrs.evolve(cached.reference, refreshed=warmed is True)
        else:
            if self._parallel:
                # Three reads that need nothing from each other: side by side, one wait.
                with ThreadPoolExecutor(max_workers=3) as pool:
                    charting = pool.submit(self._client.get_accounts)
                    taxing = pool.submit(self._client.get_tax_rates)
                    naming = pool.submit(self._try_organisation)
                    chart, tax_rates, organisation = (
                        charting.result(),
                        taxing.result(),
                        naming.result(),
                    )
            else:
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
        if self._foreign(currencies):
            reference = attrs.evolve(reference, currencies=self._currencies_now(refresh))
        return reference

    def warm(self, *, currencies: Iterable[str | None] = ()) -> bool | BmsXeroError:
        """Read the reference data ahead of a push that will need it (unless cached).

        Returns what came of it, for the caller to hand to its own next :meth:`get`
        (``warmed=``): whether it read the data, or the error that stopped it. Nothing is
        kept here: another push on the same engine must never see this one's read ahead.
        """
        try:
            return self.get(currencies=currencies).refreshed
        except BmsXeroError as e:
            return e

    def _foreign(self, currencies: Iterable[str | None]) -> bool:
        with self._lock:
            known = self._organisation
        base = None if known is None else known.base_currency
        return any(code is not None and code != base for code in currencies)

    def _currencies_now(self, refresh: bool) -> frozenset[str] | None:
        now = self._clock.monotonic()
        with self._lock:
            cached = self._currencies
        if not refresh and cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        try:
            codes: frozenset[str] | None = frozenset(self._client.get_currencies())
        except BmsXeroError as e:
            log.info("currencies not read (%s); Xero checks them itself", type(e).__name__)
            codes = None
        with self._lock:
            self._currencies = (codes, now)
        return codes

    def contacts(self, contact_ids: Iterable[str]) -> dict[str, XeroContact]:
        """The contacts with these ContactIDs as Xero holds them (archived and merged ones
        included), by ContactID; an id Xero does not know is left out.

        Kept for ``ttl`` seconds each; the rest are read with one
        ``GET /Contacts?IDs=...&includeArchived=true`` per 50. Why not cache the whole
        contact list with the chart: an organisation has thousands of contacts, most never
        invoiced by the BMS, read 100 to a page and metered per GB downloaded; the contacts
        of the invoices being pushed are a handful, and a customer invoiced again within the
        ``ttl`` costs nothing. A contact archived in Xero meanwhile is refused by Xero itself,
        and :meth:`forget` drops it so the next push reads it again.

        Raises:
            BmsXeroError: The contacts could not be read.
        """
        now = self._clock.monotonic()
        wanted = list(dict.fromkeys(contact_ids))
        found: dict[str, XeroContact] = {}
        with self._lock:
            for contact_id in wanted:
                entry = self._contacts.get(contact_id)
                if entry is not None and now - entry[1] < self._ttl:
                    found[contact_id] = entry[0]
        missing = [c for c in wanted if c not in found]
        read: list[XeroContact] = []
        for start in range(0, len(missing), CONTACTS_PER_READ):
            chunk = missing[start : start + CONTACTS_PER_READ]
            read.extend(self._client.get_contacts(ids=chunk, include_archived=True))
        with self._lock:
            for contact in read:
                self._contacts.pop(contact.contact_id, None)  # re-inserted as the newest
                self._contacts[contact.contact_id] = (contact, now)
            while len(self._contacts) > MAX_CONTACTS:
                del self._contacts[next(iter(self._contacts))]
        found.update((c.contact_id, c) for c in read if c.contact_id in missing)
        return found

    def forget(self, contact_id: str | None) -> None:
        """Read this contact from Xero next time (Xero refused something sent for it)."""
        if contact_id is not None:
            with self._lock:
                self._contacts.pop(contact_id, None)

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
