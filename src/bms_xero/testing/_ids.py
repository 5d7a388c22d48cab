"""Identifiers, tokens and short codes for the fake: deterministic when seeded."""

from __future__ import annotations

import random
import string
import uuid

__all__ = ["Ids"]

_SHORT_CODE_ALPHABET = string.ascii_letters + string.digits


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
        """A version-4 style GUID, as Xero uses for every id."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def secret(self, nbytes: int = 32) -> str:
        """An opaque token (hex)."""
        return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def short_code(self) -> str:
        """An organisation ShortCode such as ``!NLglS``."""
        return "!" + "".join(self._rng.choice(_SHORT_CODE_ALPHABET) for _ in range(5))

    def client_id(self) -> str:
        """A Xero-style client id: 32 upper-case hex characters."""
        return self.secret(16).upper()
