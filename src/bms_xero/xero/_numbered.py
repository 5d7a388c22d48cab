"""Reading a changed-since list by page number side by side, and checking it (no I/O).

A keyset read (:func:`bms_xero.xero._calls.next_keyset`) cannot skip a record, but each page's
``If-Modified-Since`` comes from the page before, so its pages go one after another. Read by
page number instead, newest first (``order=UpdatedDateUTC DESC``), every page can go at once
once page 1 said how many there are: page 1 also says the newest stamp ``X0`` and the count
``C0`` when the read began.

Read newest first, whatever changes while the pages are read moves to the *front* (a newer
stamp, above ``X0``), and every other record keeps its place or moves one further back. So:

- a record changed after page 1 was read is stamped after ``X0``: if no page showed anything
  newer than ``X0``, the cursor stays at ``X0`` and the next pull reads those changes;
- a record that did not change can only be skipped when one that did moved ahead of it
  between two page reads, and then the pages hold fewer distinct ids than the list has
  records: every answer says ``itemCount``, and records never leave a changed-since set.

So the pages are kept when every answer gave page 1's ``pageCount`` and ``itemCount`` ``C0``,
they hold ``C0`` distinct ids and nothing newer than ``X0`` (:func:`numbered_verdict`).
Otherwise page 1 is read once more, after the others: it holds everything changed meanwhile
when it reaches back past ``X0``'s second, and its ``itemCount`` says how many records there
are now; if the pages and it hold that many distinct ids, nothing was skipped (every id
counted is a record of the list then). Failing that, the whole read is done again with keyset
pages from the cursor (the reader drops what it yielded already, by id and stamp).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import attrs

__all__ = [
    "NEWEST_FIRST",
    "Key",
    "NumberedPage",
    "numbered_pages",
    "numbered_verdict",
]

#: Side-by-side reads: newest change first, so what changes meanwhile moves to the front.
NEWEST_FIRST = "UpdatedDateUTC DESC"

#: What a changed-since read knows of each record: (id, UpdatedDateUTC).
Key = tuple[str | None, datetime | None]

#: What follows the pages: nothing, one more read of page 1, or everything again by keyset.
Verdict = Literal["done", "newest", "again"]


@attrs.frozen
class NumberedPage:
    """One page of a read by page number, newest first, as the checks need it.

    Attributes:
        number: The page asked for (from 1).
        keys: (id, UpdatedDateUTC) of each record on it, in the order Xero gave them.
        page_count: ``pagination.pageCount`` of this answer (``None``: not said).
        item_count: ``pagination.itemCount`` of this answer (``None``: not said).
    """

    number: int
    keys: tuple[Key, ...]
    page_count: int | None
    item_count: int | None


def numbered_pages(first: NumberedPage, page_size: int) -> range:
    """The pages to read side by side after page 1 (empty: none, or page 1 can't say).

    Only a full page 1 whose answer gives ``pageCount`` and ``itemCount`` (the checks need
    the count) plans more pages.
    """
    if first.number != 1 or len(first.keys) < page_size:
        return range(0)
    if first.page_count is None or first.item_count is None or first.page_count < 2:
        return range(0)
    return range(2, first.page_count + 1)


def numbered_verdict(
    pages: Sequence[NumberedPage], page_size: int, newest: NumberedPage | None = None
) -> Verdict:
    """What follows pages 1..N read side by side, newest first (see the module docstring).

    Without ``newest``: ``"done"`` when the pages are the list as page 1 found it (every
    answer gave page 1's ``pageCount`` and ``itemCount``, that many distinct ids, nothing
    newer than page 1's first record), else ``"newest"`` (read page 1 again, after them) or,
    when the pages can't be checked at all, ``"again"``. With ``newest`` (that re-read):
    ``"done"`` when it reaches back past the second of page 1's first record (so it holds
    everything changed meanwhile) and the pages and it hold as many distinct ids as its
    ``itemCount``; else ``"again"``.
    """
    if not _checkable(pages):
        return "again"
    first = pages[0]
    x0 = first.keys[0][1]
    assert x0 is not None
    ids = {k[0] for p in pages for k in p.keys}
    if newest is None:
        stamps = [k[1] for p in pages for k in p.keys]
        same = all(
            p.page_count == first.page_count and p.item_count == first.item_count for p in pages
        )
        if same and len(ids) == first.item_count and all(s is not None and s <= x0 for s in stamps):
            return "done"
        return "newest"
    if newest.number != 1 or newest.item_count is None or not newest.keys:
        return "again"
    if any(k[0] is None or k[1] is None for k in newest.keys):
        return "again"
    oldest = newest.keys[-1][1]
    assert oldest is not None
    whole = len(newest.keys) < page_size or newest.page_count == 1
    if not whole and oldest >= x0.replace(microsecond=0):
        return "again"  # more changed meanwhile than one page holds
    if len(ids | {k[0] for k in newest.keys}) != newest.item_count:
        return "again"
    return "done"


def _checkable(pages: Sequence[NumberedPage]) -> bool:
    """Pages 1..N as planned, each with pagination, every record with an id and a stamp."""
    if not pages or not pages[0].keys:
        return False
    count = pages[0].page_count
    if count is None or any(p.page_count is None or p.item_count is None for p in pages):
        return False
    if [p.number for p in pages] != list(range(1, count + 1)):
        return False
    return all(k[0] is not None and k[1] is not None for p in pages for k in p.keys)
