"""What the contract-check modules share: a named check, and running many with one report.

``bms_xero.storage.contract`` and ``bms_xero.jobs.contract`` use it for their stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import attrs

__all__ = ["ContractCheck", "run_checks"]

S = TypeVar("S")


@attrs.frozen
class ContractCheck(Generic[S]):
    """One behaviour a store must have.

    Attributes:
        name: Short identifier, e.g. ``"stale_version_conflicts"`` (also ``str(check)``).
        description: The behaviour, in one sentence.
        run: Exercises the behaviour on a store; raises AssertionError when it is missing.
    """

    name: str
    description: str
    run: Callable[[S], None] = attrs.field(repr=False)

    @classmethod
    def of(cls, function: Callable[[S], None]) -> ContractCheck[S]:
        """A check named after ``function``, described by its docstring."""
        doc = " ".join((function.__doc__ or "").split())
        return cls(name=function.__name__, description=doc, run=function)

    def __call__(self, store: S) -> None:
        self.run(store)

    def __str__(self) -> str:
        return self.name


def run_checks(
    make_store: Callable[[], S], checks: Iterable[ContractCheck[S]], *, what: str
) -> None:
    """Run each check on a fresh store from ``make_store``; report every failure at once.

    A store with a ``close()`` method is closed after its check. Every check runs even when
    an earlier one fails.

    Raises:
        AssertionError: Listing every check that failed (or raised), with what differed.
    """
    failed: list[str] = []
    ran = 0
    for check in checks:
        ran += 1
        store = make_store()
        try:
            check(store)
        except Exception as exc:  # any error is a failed check, reported with the others
            failed.append(f"- {check.name} ({check.description}): {type(exc).__name__}: {exc}")
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()
    if failed:
        listed = "\n".join(failed)
        raise AssertionError(f"{len(failed)} of {ran} {what} contract checks failed:\n{listed}")
