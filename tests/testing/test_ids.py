"""The fake's ids: the same seed gives the same ids, written as ``uuid`` writes them."""

from __future__ import annotations

import random
import uuid

from bms_xero.testing._ids import Ids


def test_guids_are_what_uuid_makes_of_the_same_bits() -> None:
    """``Ids.guid`` sets the version and variant bits itself; the ids must be exactly those
    ``str(uuid.UUID(int=bits, version=4))`` gave, so seeded tests keep their ids."""
    ids, bits = Ids(5), random.Random(5)

    made = [ids.guid() for _ in range(2000)]

    assert [str(uuid.UUID(int=bits.getrandbits(128), version=4)) for _ in range(2000)] == made


def test_guids_with_every_bit_set_or_clear() -> None:
    """The bits ``uuid`` overwrites are overwritten whatever they were."""

    class Fixed(random.Random):
        def __init__(self, value: int) -> None:
            super().__init__(0)
            self.value = value

        def getrandbits(self, k: int) -> int:
            return self.value

    for value in (0, (1 << 128) - 1, 1 << 127, 0xC000 << 48, 0xF000 << 64):
        ids = Ids(0)
        ids._rng = Fixed(value)

        assert str(uuid.UUID(int=value, version=4)) == ids.guid()
