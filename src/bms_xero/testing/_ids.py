"""Identifiers, tokens and short codes for the fake: deterministic when seeded."""

from __future__ import annotations

import random
import string

__all__ = ["Ids"]

_SHORT_CODE_ALPHABET = string.ascii_letters + string.digits

# What ``uuid.UUID(int=n, version=4)`` does to the 128 random bits: the two variant bits
# (62-63, counting from the least significant) become RFC 4122's ``10`` and the version
# nibble (bits 76-79) becomes 4. Applied here so :meth:`Ids.guid` gives exactly the ids
# ``uuid`` gave for the same seed without building a UUID object for each (a fake holding
# 100,000 invoices makes 400,000 ids; the object was most of an id's cost).
# tests/testing/test_ids.py checks the two agree.
_KEEP = ~(0xC000 << 48) & ~(0xF000 << 64)
_SET = (0x8000 << 48) | (4 << 76)


class Ids:
    """Makes every id the fake hands out, from one random stream.

    With a seed the same sequence of calls yields the same ids, tokens and credentials, so a
    test can pin them. Not thread-safe on its own: the fake calls it under its lock.

    Args:
        seed: Seed for the stream; ``None`` for a fresh, unpredictable stream.
    """

    def __init__(self, seed: int | str | None = None) -> None:
        # Fake credentials only; nothing here protects anything real.
        self._rng = random.Random(seed)  # noqa: S311

    def guid(self) -> str:
        """A version-4 style GUID, as Xero uses for every id: lower-case hex in 8-4-4-4-12
        groups, as ``str(uuid.UUID(int=bits, version=4))`` writes it (see ``_KEEP``)."""
        digits = (self._rng.getrandbits(128) & _KEEP | _SET).to_bytes(16, "big").hex()
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"

    def secret(self, nbytes: int = 32) -> str:
        """An opaque token (hex)."""
        return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def short_code(self) -> str:
        """An organisation ShortCode such as ``!NLglS``."""
        return "!" + "".join(self._rng.choice(_SHORT_CODE_ALPHABET) for _ in range(5))

    def client_id(self) -> str:
        """A Xero-style client id: 32 upper-case hex characters."""
        return self.secret(16).upper()
