"""The indexes that make a list read cost its page, not what the organisation holds.

A sync reads a large organisation back one page at a time, each page asking
``If-Modified-Since`` (the last second seen), ``order=UpdatedDateUTC ASC`` and, for invoices,
``where=Type=="ACCREC"``. Built by filtering every record, each page would cost the whole
store and a pull of 100,000 invoices would take minutes; Xero answers in about the same time
whatever it holds, and so must the fake.

:class:`UpdateOrder` keeps one kind of record in update order, as *slots*: every change
gives the record a new slot at the end, so slot order is ``UpdatedDateUTC`` order (the fake's
stamps only ever increase) and records changed since an instant are the slots from a bisect
on. Each indexed field (``Type``, ``Status``, ``InvoiceNumber``, ``Contact.ContactID``...)
keeps, for every value, the sorted slots of the records holding it, so a ``where`` the
index can answer is a count and a slice of those: only the page's records are looked at,
and only they are rendered. :class:`Pick` is that arithmetic, over one or several such
sorted sets.

Nothing here knows Xero's fields; ``_model`` says which fields each kind of record indexes
and ``_api`` which reads use them.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from bisect import bisect_left, insort
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import attrs

__all__ = [
    "Key",
    "Pick",
    "Slots",
    "Sorted",
    "UpdateOrder",
]

T = TypeVar("T")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
#: Slots per block of a :class:`Slots` (a block holds one to two loads): small enough that
#: an insertion's list shift is cheap, large enough that counting walks few blocks.
_LOAD = 512


def micros(value: datetime) -> int:
    """An aware datetime as whole microseconds since 1970 (what the slots' stamps hold)."""
    return (value - _EPOCH) // _MICROSECOND


class Sorted(Protocol):
    """A set of slots in ascending order, read the way :class:`Pick` needs."""

    def __len__(self) -> int: ...

    def __contains__(self, slot: object) -> bool: ...

    def count_from(self, low: int) -> int:
        """How many slots are ``low`` or later."""
        ...

    def take(self, low: int, skip: int, count: int) -> list[int]:
        """Up to ``count`` slots, ascending, from the ``skip``-th (0-based) at ``low`` or later."""
        ...

    def iter_from(self, low: int) -> Iterator[int]:
        """The slots at ``low`` or later, ascending."""
        ...

    def last(self) -> int | None:
        """The latest slot, or ``None`` when empty."""
        ...


class Slots:
    """Distinct slots, ascending, kept in blocks of one to two :data:`_LOAD`.

    Adding a slot later than every other (what a change does) is an append; adding or
    removing one elsewhere (a status change that does not move ``UpdatedDateUTC``, a record
    moved to the end) shifts one block, not the whole set. Counting from a slot walks block
    lengths, at most half of them. This is how sortedcontainers' ``SortedList`` works,
    reduced to what the indexes need (the fake depends on nothing it does not ship).
    """

    __slots__ = ("_blocks", "_len", "_load", "_maxes")

    def __init__(self, slots: Iterable[int] = (), *, load: int = _LOAD) -> None:
        self._blocks: list[list[int]] = []
        self._maxes: list[int] = []
        self._len = 0
        self._load = load  # tests split and join blocks with a tiny one
        for slot in sorted(set(slots)):
            self.add(slot)

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Slots({list(self)!r})"

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self._blocks)

    def __reversed__(self) -> Iterator[int]:
        return (slot for block in reversed(self._blocks) for slot in reversed(block))

    def __contains__(self, slot: object) -> bool:
        if not isinstance(slot, int):
            return False
        i = bisect_left(self._maxes, slot)
        if i == len(self._maxes):
            return False
        block = self._blocks[i]
        return block[bisect_left(block, slot)] == slot

    def last(self) -> int | None:
        """The latest slot, or ``None`` when empty."""
        return self._maxes[-1] if self._maxes else None

    def add(self, slot: int) -> None:
        """Add ``slot`` (nothing if it is there already)."""
        if not self._maxes or slot > self._maxes[-1]:
            if not self._blocks:
                self._blocks.append([slot])
                self._maxes.append(slot)
            else:
                self._blocks[-1].append(slot)
                self._maxes[-1] = slot
                if len(self._blocks[-1]) > 2 * self._load:
                    self._split(len(self._blocks) - 1)
            self._len += 1
            return
        i = bisect_left(self._maxes, slot)
        block = self._blocks[i]
        j = bisect_left(block, slot)
        if block[j] == slot:
            return
        block.insert(j, slot)
        self._len += 1
        if len(block) > 2 * self._load:
            self._split(i)

    def discard(self, slot: int) -> None:
        """Remove ``slot`` (nothing if it is not there)."""
        i = bisect_left(self._maxes, slot)
        if i == len(self._maxes):
            return
        block = self._blocks[i]
        j = bisect_left(block, slot)
        if block[j] != slot:
            return
        del block[j]
        self._len -= 1
        if not block:
            del self._blocks[i]
            del self._maxes[i]
            return
        self._maxes[i] = block[-1]
        if len(block) < self._load // 2 and len(self._blocks) > 1:
            self._join(i if i + 1 < len(self._blocks) else i - 1)

    def _split(self, i: int) -> None:
        block = self._blocks[i]
        tail = block[self._load :]
        del block[self._load :]
        self._blocks.insert(i + 1, tail)
        self._maxes[i] = block[-1]
        self._maxes.insert(i + 1, tail[-1])

    def _join(self, i: int) -> None:
        """Merge block ``i + 1`` into block ``i`` (splitting again if too long), so removals
        never leave a trail of tiny blocks for counts to walk."""
        self._blocks[i].extend(self._blocks.pop(i + 1))
        self._maxes.pop(i)
        if len(self._blocks[i]) > 2 * self._load:
            self._split(i)

    def _locate(self, low: int) -> tuple[int, int]:
        """The block and position of the first slot at ``low`` or later (past the end:
        ``(len(blocks), 0)``)."""
        i = bisect_left(self._maxes, low)
        if i == len(self._maxes):
            return i, 0
        return i, bisect_left(self._blocks[i], low)

    def count_from(self, low: int) -> int:
        """How many slots are ``low`` or later (walking the shorter side's blocks)."""
        i, j = self._locate(low)
        if i == len(self._blocks):
            return 0
        if 2 * i > len(self._blocks):
            return (
                len(self._blocks[i])
                - j
                + sum(map(len, itertools.islice(self._blocks, i + 1, None)))
            )
        return self._len - j - sum(map(len, itertools.islice(self._blocks, i)))

    def take(self, low: int, skip: int, count: int) -> list[int]:
        """Up to ``count`` slots, ascending, from the ``skip``-th (0-based) at ``low`` or later."""
        i, j = self._locate(low)
        blocks = self._blocks
        while i < len(blocks) and skip >= len(blocks[i]) - j:
            skip -= len(blocks[i]) - j
            i, j = i + 1, 0
        j += skip
        out: list[int] = []
        while i < len(blocks) and len(out) < count:
            out.extend(blocks[i][j : j + count - len(out)])
            i, j = i + 1, 0
        return out

    def iter_from(self, low: int) -> Iterator[int]:
        """The slots at ``low`` or later, ascending."""
        i, j = self._locate(low)
        if i < len(self._blocks):
            yield from itertools.islice(self._blocks[i], j, None)
            yield from itertools.chain.from_iterable(itertools.islice(self._blocks, i + 1, None))


@attrs.frozen
class _Listed:
    """A plain sorted list of slots read as :class:`Sorted`: what a field of many values
    (a number, a contact) keeps per value, where a :class:`Slots` each would cost more
    memory than the records' own index entries."""

    slots: list[int]

    def __len__(self) -> int:
        return len(self.slots)

    def __contains__(self, slot: object) -> bool:
        if not isinstance(slot, int):
            return False
        i = bisect_left(self.slots, slot)
        return i < len(self.slots) and self.slots[i] == slot

    def count_from(self, low: int) -> int:
        return len(self.slots) - bisect_left(self.slots, low)

    def take(self, low: int, skip: int, count: int) -> list[int]:
        start = bisect_left(self.slots, low) + skip
        return self.slots[start : start + count]

    def iter_from(self, low: int) -> Iterator[int]:
        return itertools.islice(self.slots, bisect_left(self.slots, low), None)

    def last(self) -> int | None:
        return self.slots[-1] if self.slots else None


_NOTHING = _Listed([])


@attrs.frozen
class Key(Generic[T]):
    """One field an :class:`UpdateOrder` indexes.

    Attributes:
        read: The field's value on a stored record: exactly what the rendered record has
            there (as ``Where.on_records`` requires), so an index lookup and the filter agree.
        few: Whether the field takes few values (Type, Status): each value then keeps a
            :class:`Slots`, cheap to insert into anywhere; otherwise a plain sorted list,
            cheap in memory when most values are held by one record (a number).
        ids: Whether its values are ids the fake made (lower case), so a ``Guid("...")``
            literal, compared in any case, finds exactly what a lookup of its lower-case
            text finds.
    """

    read: Callable[[T], Hashable]
    few: bool = False
    ids: bool = False


class _Stamped(Protocol):
    @property
    def updated_at(self) -> datetime: ...


S = TypeVar("S", bound=_Stamped)


class UpdateOrder(Generic[S]):
    """Records of one kind in ``UpdatedDateUTC`` order, with the fields in ``keys`` indexed.

    :meth:`touch` is called whenever a record is stored or its ``UpdatedDateUTC`` moves, and
    :meth:`rekey` when an indexed field changes in place without it moving (an invoice
    becoming PAID by a payment that does not bump it). The order keeps its own copy of each
    record's indexed values, so a record changed in place before it is touched still leaves
    its old values' sets.

    Slots of records touched since are dead; when they outnumber the live ones the order is
    renumbered (:meth:`_compact`), so memory follows what is held, not how often it changed.

    Args:
        keys: The indexed fields, by the name a ``where`` clause uses.
        ident: A record's id.
        id_field: The name a ``where`` clause gives the id (``InvoiceID``), looked up
            through the order itself.
    """

    def __init__(
        self,
        keys: Mapping[str, Key[S]],
        *,
        ident: Callable[[S], str],
        id_field: str | None = None,
    ) -> None:
        self._keys = tuple(keys.items())
        self._reads = tuple(key.read for _, key in self._keys)
        self._few = tuple(key.few for _, key in self._keys)
        self._ident = ident
        self._id_field = id_field
        self._ids: list[str] = []  # by slot (dead slots keep their old id)
        self._stamps: array[int] = array("q")  # by slot: UpdatedDateUTC when placed, in µs
        self._live = Slots()
        self._entries: dict[str, tuple[Any, ...]] = {}  # id -> (slot, *indexed values)
        # Per key (in ``keys`` order): value -> the slots holding it (Slots, or a sorted list).
        self._tables: tuple[dict[Hashable, Any], ...] = tuple({} for _ in self._keys)
        # Whether stamps never go back in slot order, so "changed since" is a bisect. The
        # fake's stamps only increase (Org.touch); this is the guard if one ever did not.
        self._monotone = True

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        """The ids, oldest ``UpdatedDateUTC`` first."""
        return (self._ids[slot] for slot in self._live)

    @property
    def everything(self) -> Slots:
        """Every record's slot."""
        return self._live

    def ident_at(self, slot: int) -> str:
        """The id of the record at ``slot``."""
        return self._ids[slot]

    def touch(self, record: S) -> None:
        """``record`` was stored or changed: give it the next slot, at the end."""
        ident = self._ident(record)
        values = [read(record) for read in self._reads]
        old = self._entries.get(ident)
        if old is not None:
            was = old[0]
            self._live.discard(was)
            for table, few, value in zip(self._tables, self._few, old[1:], strict=True):
                _remove(table, few, value, was)
        slot = len(self._ids)
        stamp = micros(record.updated_at)
        if self._stamps and stamp < self._stamps[-1]:
            self._monotone = False
        self._ids.append(ident)
        self._stamps.append(stamp)
        self._live.add(slot)
        for table, few, value in zip(self._tables, self._few, values, strict=True):
            _put(table, few, value, slot)
        self._entries[ident] = (slot, *values)
        if len(self._ids) > 2 * len(self._entries) + 1024:
            self._compact()

    def rekey(self, record: S) -> None:
        """An indexed field of ``record`` changed in place; its place in the order stays."""
        ident = self._ident(record)
        old = self._entries.get(ident)
        if old is None:
            self.touch(record)
            return
        slot = old[0]
        values = [read(record) for read in self._reads]
        for table, few, before, after in zip(self._tables, self._few, old[1:], values, strict=True):
            if before != after:
                _remove(table, few, before, slot)
                _put(table, few, after, slot)
        self._entries[ident] = (slot, *values)

    def _compact(self) -> None:
        """Renumber the live slots 0, 1, 2... in order, dropping the dead ones."""
        ids, stamps, entries = self._ids, self._stamps, self._entries
        order = list(self._live)
        self._ids, self._stamps, self._live = [], array("q"), Slots()
        self._entries = {}
        self._tables = tuple({} for _ in self._keys)
        self._monotone = True
        for slot, old in enumerate(order):
            ident = ids[old]
            entry = entries[ident]
            if self._stamps and stamps[old] < self._stamps[-1]:
                self._monotone = False
            self._ids.append(ident)
            self._stamps.append(stamps[old])
            self._live.add(slot)
            for table, few, value in zip(self._tables, self._few, entry[1:], strict=True):
                _put(table, few, value, slot)
            self._entries[ident] = (slot, *entry[1:])

    def first_slot(self, since: datetime) -> int:
        """Where the records changed at or after ``since`` start: every live slot from here
        on has a stamp at or after it, and every one before it is older.

        Inclusive, as Xero is at the second (xero-api.md section 14): ``since`` comes from
        ``If-Modified-Since`` already truncated to the second, so a cursor set to the last
        ``UpdatedDateUTC`` seen reads that second again and never skips a change.

        A bisect over the stamps; were they ever out of order, the walk back from the newest
        that the fake used to make (stopping at the first older record) instead.
        """
        stamp = micros(since)
        if self._monotone:
            return bisect_left(self._stamps, stamp)
        start = len(self._ids)
        for slot in reversed(self._live):
            if self._stamps[slot] < stamp:
                break
            start = slot
        return start

    def lookup(self, field: str, value: str, *, guid: bool = False) -> Sorted | None:
        """The slots of the records whose ``field`` is ``value``, or ``None`` when the order
        cannot say (the field is not indexed, or a ``Guid`` literal on a field that is not
        an id). ``guid`` says the literal was ``Guid("...")``, already in lower case."""
        if field == self._id_field:
            entry = self._entries.get(value)
            return _Listed([entry[0]]) if entry is not None else _NOTHING
        for i, (name, key) in enumerate(self._keys):
            if name == field:
                if guid and not key.ids:
                    return None
                return _view(self._tables[i].get(value), key.few)
        return None

    def having(self, field: str, values: Iterable[Hashable]) -> tuple[Sorted, ...]:
        """The slot sets of the records whose indexed ``field`` is each of ``values``: one
        per distinct value, so no record is in two."""
        i = self._index_of(field)
        few = self._few[i]
        return tuple(_view(self._tables[i].get(v), few) for v in dict.fromkeys(values))

    def ids_with(self, field: str, value: Hashable) -> list[str]:
        """The ids of the records whose indexed ``field`` is ``value``, in update order."""
        held = self._tables[self._index_of(field)].get(value)
        return [] if held is None else [self._ids[slot] for slot in held]

    def _index_of(self, field: str) -> int:
        return next(i for i, (name, _) in enumerate(self._keys) if name == field)


def _view(held: Any, few: bool) -> Sorted:
    """What a key's table holds for one value, read as :class:`Sorted`."""
    if held is None:
        return _NOTHING
    return held if few else _Listed(held)


def _put(table: dict[Hashable, Any], few: bool, value: Hashable, slot: int) -> None:
    """Add ``slot`` to the slots of ``value`` in one key's table."""
    if few:
        held = table.get(value)
        if held is None:
            held = table[value] = Slots()
        held.add(slot)
        return
    listed: list[int] | None = table.get(value)
    if listed is None:
        table[value] = [slot]
    elif slot > listed[-1]:
        listed.append(slot)
    else:
        insort(listed, slot)


def _remove(table: dict[Hashable, Any], few: bool, value: Hashable, slot: int) -> None:
    """Take ``slot`` out of the slots of ``value`` in one key's table; a value no record
    holds any more leaves the table, so it holds the values in use, not every one seen."""
    held = table.get(value)
    if held is None:
        return
    if few:
        held.discard(slot)
    else:
        i = bisect_left(held, slot)
        if i < len(held) and held[i] == slot:
            del held[i]
    if not held:
        del table[value]


@attrs.frozen
class Pick:
    """Which records a list read answers, as slots: those in any of ``sources`` from slot
    ``start`` on, that pass ``check``.

    When ``check`` is ``None`` and the sources are one set (or sets no record is in twice,
    such as the slots of two statuses), the count is a sum of counts and a page a slice:
    neither looks at a record. Otherwise every candidate is tried, which is the scan a
    ``where`` that no index answers costs (the records are still not rendered unless the
    filter needs them).

    Attributes:
        sources: The candidate slots (their union).
        disjoint: Whether no slot is in two of ``sources``.
        start: The first slot that counts (from If-Modified-Since; ``0`` for all).
        check: Whether a candidate slot is answered (``None``: every one is).
    """

    sources: tuple[Sorted, ...]
    disjoint: bool
    start: int = 0
    check: Callable[[int], bool] | None = None

    @property
    def counted(self) -> bool:
        """Whether counting and paging need no candidate tried (see the class)."""
        return self.check is None and (self.disjoint or len(self.sources) == 1)

    def every(self) -> list[int]:
        """Every answered slot, ascending."""
        if len(self.sources) == 1:
            found: Iterable[int] = self.sources[0].iter_from(self.start)
        else:
            merged = heapq.merge(*(s.iter_from(self.start) for s in self.sources))
            found = merged if self.disjoint else (slot for slot, _ in itertools.groupby(merged))
        return list(found) if self.check is None else [s for s in found if self.check(s)]

    def page(self, skip: int, count: int, *, descending: bool = False) -> tuple[list[int], int]:
        """Up to ``count`` answered slots from the ``skip``-th (0-based, in the order asked:
        newest first when ``descending``), and how many are answered in all."""
        if not self.counted:
            every = self.every()
            if descending:
                every.reverse()
            return every[skip : skip + count], len(every)
        total = sum(s.count_from(self.start) for s in self.sources)
        if not descending:
            return self._take(skip, count), total
        end = total - skip
        if end <= 0 or count <= 0:
            return [], total
        window = self._take(max(0, end - count), min(count, end))
        window.reverse()
        return window, total

    def _take(self, skip: int, count: int) -> list[int]:
        """Ascending slots ``skip`` to ``skip + count`` of the union (sources disjoint)."""
        if count <= 0:
            return []
        if len(self.sources) == 1:
            return self.sources[0].take(self.start, skip, count)
        first = self._nth(skip)
        if first is None:
            return []
        merged = heapq.merge(*(s.iter_from(first) for s in self.sources))
        return list(itertools.islice(merged, count))

    def _nth(self, n: int) -> int | None:
        """The ``n``-th (0-based) slot of the union from ``start`` on: a binary search over
        slot numbers, counting each source below the midpoint, so a deep page costs the
        logarithm of the slots, not the pages before it."""
        totals = [s.count_from(self.start) for s in self.sources]
        if n >= sum(totals):
            return None
        low = self.start
        high = max(last for s in self.sources if (last := s.last()) is not None)
        while low < high:
            middle = (low + high) // 2
            upto = sum(
                t - s.count_from(middle + 1) for s, t in zip(self.sources, totals, strict=True)
            )
            if upto > n:
                high = middle
            else:
                low = middle + 1
        return low
