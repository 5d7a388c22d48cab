"""Pages read by number side by side, newest first: which to read, and whether they held."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bms_xero.xero._numbered import Key, NumberedPage, numbered_pages, numbered_verdict

SINCE = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)


def at(second: int, ms: int = 0) -> datetime:
    return SINCE + timedelta(seconds=second, milliseconds=ms)


def page(number: int, *keys: Key, count: int | None = 3, items: int | None = 7) -> NumberedPage:
    return NumberedPage(number=number, keys=keys, page_count=count, item_count=items)


# Seven invoices a..g (g newest), pages of three, newest first, read while nothing changed.
P1 = page(1, ("g", at(7, 250)), ("f", at(6)), ("e", at(5)))
P2 = page(2, ("d", at(4)), ("c", at(3)), ("b", at(2)))
P3 = page(3, ("a", at(1)))


# b changed (to 9 s) after page 1 was read, before pages 2 and 3: they lost it.
MOVED = (P1, page(2, ("e", at(5)), ("d", at(4)), ("c", at(3))), page(3, ("a", at(1))))


class TestNumberedPages:
    """Which pages are read side by side once page 1 answered."""

    def test_pages_two_to_the_page_count(self) -> None:
        """A full page 1 of three saying three pages plans pages 2 and 3."""
        assert range(2, 4) == numbered_pages(P1, 3)

    @pytest.mark.parametrize(
        "first",
        [
            page(1, ("g", at(7)), ("f", at(6))),  # short: the only page
            page(1, ("g", at(7)), ("f", at(6)), ("e", at(5)), count=1, items=3),
            page(1, ("g", at(7)), ("f", at(6)), ("e", at(5)), count=None),
            page(1, ("g", at(7)), ("f", at(6)), ("e", at(5)), items=None),  # can't be checked
        ],
    )
    def test_nothing_to_plan(self, first: NumberedPage) -> None:
        """A short page 1, a single page, or no pagination to check against: none planned."""
        assert range(0) == numbered_pages(first, 3)


class TestNumberedVerdict:
    """Whether the pages are the list as page 1 found it, and what follows if not."""

    def test_pages_that_fit_are_done(self) -> None:
        """Seven distinct ids, counts unchanged, nothing newer than page 1's first: done."""
        assert "done" == numbered_verdict([P1, P2, P3], 3)

    @pytest.mark.parametrize(
        "pages",
        [
            # b changed after page 1 was read and before pages 2 and 3: it went to the
            # front, e slipped back onto page 2 (seen twice) and a onto page 3... but b is
            # missing from both: six distinct ids of seven.
            [P1, page(2, ("e", at(5)), ("d", at(4)), ("c", at(3))), page(3, ("a", at(1)))],
            # Enough changed that a newer record reached page 2.
            [
                P1,
                page(2, ("x", at(9)), ("d", at(4)), ("c", at(3))),
                page(3, ("b", at(2)), ("a", at(1)), items=8),
            ],
            # An invoice was added while they were read (the count changed).
            [P1, P2, page(3, ("b", at(2)), ("a", at(1)), items=8)],
            [P1, P2, page(3, ("a", at(1)), count=4)],
        ],
    )
    def test_pages_that_may_have_skipped_read_page_one_again(
        self, pages: list[NumberedPage]
    ) -> None:
        """A missing id, something newer than page 1's first, or a changed count: page 1 is
        read again, after the others."""
        assert "newest" == numbered_verdict(pages, 3)

    @pytest.mark.parametrize(
        "pages",
        [
            [],
            [P1, P3],  # a page not read
            [P1, P2, page(3, ("a", at(1)), count=None)],
            [page(1, ("g", at(7)), ("f", at(6)), ("e", at(5)), items=None), P2, P3],
            [P1, P2, page(3, (None, at(1)))],  # a record with no id or stamp can't be checked
            [P1, P2, page(3, ("a", None))],
        ],
    )
    def test_pages_that_cannot_be_checked_are_read_again_by_keyset(
        self, pages: list[NumberedPage]
    ) -> None:
        """No pagination, a page missing, a record with no id or stamp: everything again."""
        assert "again" == numbered_verdict(pages, 3)

    def test_page_one_again_finding_the_moved_record_is_done(self) -> None:
        """Page 1 read again holds b, newer, and reaches back past 7 s: seven ids, done."""
        newest = page(1, ("b", at(9)), ("g", at(7, 250)), ("f", at(6)))
        assert "done" == numbered_verdict(MOVED, 3, newest)

    @pytest.mark.parametrize(
        "newest",
        [
            # Not back past 7 s: more changed meanwhile than one page holds.
            page(1, ("y", at(11)), ("z", at(10)), ("b", at(9)), items=9),
            # Back far enough, but an id is still missing: one was skipped.
            page(1, ("g", at(7, 250)), ("f", at(6)), ("e", at(5))),
            # Page 1 said nothing of the count.
            page(1, ("b", at(9)), ("g", at(7, 250)), ("f", at(6)), items=None),
        ],
    )
    def test_page_one_again_not_accounting_for_all_is_read_again_by_keyset(
        self, newest: NumberedPage
    ) -> None:
        """Page 1 read again that doesn't reach past page 1's first second, or leaves the
        count short: everything again by keyset."""
        assert "again" == numbered_verdict(MOVED, 3, newest)


def _simulate(rng: random.Random, size: int) -> tuple[str, bool]:
    """One side-by-side read of a list that changes while it is read: (verdict, missed).

    Stamps come from a clock that only goes forward, 400 ms a tick (some share a second);
    records are ordered newest first, change only by getting a new stamp (to the front),
    and never leave (as a changed-since set); some are added. Page 1 is read first, then
    pages 2..N in a random order with changes in between, then page 1 again if the verdict
    asks. When the verdict is "done", every record stamped no later than the newest stamp
    seen (where the cursor moves) must have been seen as it is now.
    """
    clock = 0
    stamps: dict[str, int] = {}
    for n in range(rng.randint(size + 1, 4 * size)):
        clock += 1
        stamps[f"r{n}"] = clock

    def when(tick: int) -> datetime:
        return SINCE + timedelta(milliseconds=400 * tick)

    def change() -> None:
        nonlocal clock
        clock += rng.randint(1, 3)
        if rng.random() < 0.2:
            stamps[f"r{len(stamps)}"] = clock
        else:
            stamps[rng.choice(sorted(stamps))] = clock

    def read(number: int) -> NumberedPage:
        ordered = sorted(stamps, key=stamps.__getitem__, reverse=True)
        cut = ordered[(number - 1) * size : number * size]
        return NumberedPage(
            number=number,
            keys=tuple((i, when(stamps[i])) for i in cut),
            page_count=-(-len(ordered) // size),
            item_count=len(ordered),
        )

    first = read(1)
    read_at: dict[int, NumberedPage] = {}
    order = list(numbered_pages(first, size))
    rng.shuffle(order)
    for number in order:
        while rng.random() < 0.4:
            change()
        read_at[number] = read(number)
    pages = [first, *(read_at[n] for n in sorted(read_at))]
    seen = {k for p in pages for k in p.keys}
    verdict = numbered_verdict(pages, size)
    if verdict == "newest":
        while rng.random() < 0.4:
            change()
        newest = read(1)
        seen |= set(newest.keys)
        verdict = numbered_verdict(pages, size, newest)
    if verdict != "done":
        return verdict, False
    cursor = max(k[1] for k in seen if k[1] is not None)
    missed = any(when(t) <= cursor and (i, when(t)) not in seen for i, t in stamps.items())
    return verdict, missed


def test_a_read_kept_never_misses_a_record() -> None:
    """Thousands of side-by-side reads of small lists changing while they are read: each one
    kept leaves no record stamped up to the cursor unseen as it is now (and reads are kept,
    after page 1 again too: the check is not just "always read again")."""
    rng = random.Random(20261201)
    verdicts: dict[str, int] = {"done": 0, "again": 0}
    for trial in range(30_000):
        verdict, missed = _simulate(rng, size=rng.randint(1, 4))
        assert not missed, f"trial {trial} missed a record"
        verdicts[verdict] += 1
    assert verdicts["done"] > 10_000
    assert verdicts["again"] > 100
