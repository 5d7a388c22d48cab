"""Scripted and seeded faults: what a flaky network or an unwell Xero does to a request.

Also answer hooks, which match requests the same way: what the rest of the world does to an
organisation while a client is between two requests.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Iterable, Sequence

import attrs

from bms_xero.errors import ConfigurationError

__all__ = ["AnswerHook", "FaultKind", "FaultPlan", "HookPlan", "RandomFaults", "ScheduledFault"]


class FaultKind(enum.StrEnum):
    """The kinds of fault :meth:`FakeXero.inject` can schedule.

    Transport faults raise the httpx exception a real network raises; response faults answer
    with Xero's error. "Before commit" means the fake changed nothing; "after commit" means
    the request was carried out in full (stored, idempotency key recorded) and only the
    answer was lost.
    """

    TIMEOUT_BEFORE_COMMIT = "timeout_before_commit"
    """``httpx.ReadTimeout``; nothing happened."""
    TIMEOUT_AFTER_COMMIT = "timeout_after_commit"
    """The request is carried out, then ``httpx.ReadTimeout``."""
    CONNECT_TIMEOUT = "connect_timeout"
    """``httpx.ConnectTimeout``: the request never left; always safe to repeat."""
    CONNECTION_RESET = "connection_reset"
    """``httpx.RemoteProtocolError`` (peer closed the connection); nothing happened."""
    HTTP_500 = "http_500"
    """500 ``UnknownErrorException``; nothing happened."""
    OFFLINE_503 = "offline_503"
    """503 ``The Organisation is offline`` (plain text); nothing happened."""
    SLOW = "slow"
    """The request is carried out, the clock moves on by the fault's seconds, then
    ``httpx.ReadTimeout``."""

    @property
    def raises(self) -> bool:
        """Whether the caller sees an exception instead of a response."""
        return self not in (FaultKind.HTTP_500, FaultKind.OFFLINE_503)

    @property
    def commits(self) -> bool:
        """Whether the request is carried out before the fault strikes."""
        return self in (FaultKind.TIMEOUT_AFTER_COMMIT, FaultKind.SLOW)


def fault_kind(value: FaultKind | str) -> FaultKind:
    """``value`` as a FaultKind, or a ConfigurationError listing the kinds."""
    try:
        return FaultKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ConfigurationError(f"unknown fault kind {value!r}; use one of {kinds}") from None


def _normal_path(path: str | None, what: str = "fault") -> str | None:
    if path is None:
        return None
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError(
            f"{what} path {path!r} must start with '/', e.g. '/Invoices' or '/connect/token'"
        )
    return path.rstrip("/").casefold() or "/"


def _matches(
    method: str | None,
    prefix: str | None,
    tenant_id: str | None,
    *,
    call_method: str,
    call_path: str,
    api: str,
    call_tenant: str | None,
) -> bool:
    if method is not None and method != call_method:
        return False
    if tenant_id is not None and tenant_id != call_tenant:
        return False
    if prefix is None:
        # Without a path a fault hits the accounting API only, not token or connections.
        return api == "accounting"
    path = call_path.casefold()
    return path == prefix or path.startswith(prefix + "/")


@attrs.define(kw_only=True)
class ScheduledFault:
    """A fault waiting for matching requests.

    Attributes:
        kind: What happens.
        method: Only requests with this method (``None``: any).
        path: Only paths equal to or under this prefix, e.g. ``/Invoices`` (``None``: any
            accounting API path).
        tenant_id: Only requests for this tenant (``None``: any).
        remaining: How many more requests it hits (``None``: until cleared).
        seconds: For ``slow``: how far the clock moves.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    tenant_id: str | None = None
    remaining: int | None = 1
    seconds: float = 65.0

    def matches(self, method: str, path: str, api: str, tenant_id: str | None) -> bool:
        """Whether this fault hits the request."""
        return _matches(
            self.method,
            self.path,
            self.tenant_id,
            call_method=method,
            call_path=path,
            api=api,
            call_tenant=tenant_id,
        )


@attrs.define(kw_only=True)
class RandomFaults:
    """Faults that hit a fraction of matching requests, reproducibly for a seed.

    Attributes:
        rate: Probability (0 to 1) that a matching request is hit.
        kinds: The kinds to choose from, uniformly.
        method: As for :class:`ScheduledFault`.
        path: As for :class:`ScheduledFault`.
        seconds: For ``slow``.
    """

    rate: float
    kinds: tuple[FaultKind, ...]
    rng: random.Random
    method: str | None = None
    path: str | None = None
    seconds: float = 65.0

    def draw(self, method: str, path: str, api: str, tenant_id: str | None) -> FaultKind | None:
        """The kind that hits this request, if any."""
        if not _matches(
            self.method,
            self.path,
            None,
            call_method=method,
            call_path=path,
            api=api,
            call_tenant=tenant_id,
        ):
            return None
        if self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)


@attrs.frozen
class Hit:
    """A fault that hits one request.

    Attributes:
        kind: What happens.
        seconds: For ``slow``: how far the clock moves.
    """

    kind: FaultKind
    seconds: float


class FaultPlan:
    """Every scheduled and random fault; the fake consults it (under its lock) per request."""

    def __init__(self) -> None:
        self.scheduled: list[ScheduledFault] = []
        self.random: RandomFaults | None = None

    def schedule(
        self,
        kind: FaultKind | str,
        *,
        method: str | None,
        path: str | None,
        times: int | None,
        tenant_id: str | None,
        seconds: float,
    ) -> ScheduledFault:
        """Add a scripted fault (checked for bad arguments first)."""
        _times(times)
        if seconds < 0:
            raise ConfigurationError(f"seconds must not be negative, not {seconds}")
        fault = ScheduledFault(
            kind=fault_kind(kind),
            method=None if method is None else method.upper(),
            path=_normal_path(path),
            tenant_id=tenant_id,
            remaining=times,
            seconds=float(seconds),
        )
        self.scheduled.append(fault)
        return fault

    def set_random(
        self,
        *,
        rate: float,
        kinds: Iterable[FaultKind | str] | None,
        seed: int | str | None,
        method: str | None,
        path: str | None,
        seconds: float,
    ) -> RandomFaults:
        """Replace the random faults."""
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigurationError(f"rate must be a number from 0 to 1, not {rate!r}")
        chosen: Sequence[FaultKind] = (
            tuple(FaultKind) if kinds is None else tuple(fault_kind(k) for k in kinds)
        )
        if not chosen:
            raise ConfigurationError("kinds must name at least one fault kind")
        self.random = RandomFaults(
            rate=float(rate),
            kinds=tuple(chosen),
            rng=random.Random(seed),  # noqa: S311 - reproducible test faults, not security
            method=None if method is None else method.upper(),
            path=_normal_path(path),
            seconds=float(seconds),
        )
        return self.random

    def clear(self) -> None:
        """Forget every fault."""
        self.scheduled.clear()
        self.random = None

    def take(self, method: str, path: str, api: str, tenant_id: str | None) -> Hit | None:
        """The fault that hits this request (scripted ones first, in order), if any."""
        for fault in self.scheduled:
            if fault.matches(method, path, api, tenant_id):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.scheduled.remove(fault)
                return Hit(fault.kind, fault.seconds)
        if self.random is not None:
            kind = self.random.draw(method, path, api, tenant_id)
            if kind is not None:
                return Hit(kind, self.random.seconds)
        return None


def _times(times: int | None) -> int | None:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
        raise ConfigurationError(f"times must be a positive int or None, not {times!r}")
    if times is not None and times < 1:
        raise ConfigurationError(f"times must be at least 1 (or None for always), not {times}")
    return times


@attrs.define(kw_only=True)
class AnswerHook:
    """A callback run after the fake answers matching requests, before the caller sees it.

    Attributes:
        callback: Called with no arguments, outside the fake's lock (so it may use the
            fake's helpers, e.g. :meth:`FakeXero.pay`).
        method: Only requests with this method (``None``: any).
        path: Only paths equal to or under this prefix, e.g. ``/Invoices`` (``None``: any
            accounting API path).
        tenant_id: Only requests for this tenant (``None``: any).
        remaining: How many more answers trigger it (``None``: until cleared).
    """

    callback: Callable[[], object] = attrs.field(repr=False)
    method: str | None = None
    path: str | None = None
    tenant_id: str | None = None
    remaining: int | None = 1

    def matches(self, method: str, path: str, api: str, tenant_id: str | None) -> bool:
        """Whether this hook runs after the request's answer."""
        return _matches(
            self.method,
            self.path,
            self.tenant_id,
            call_method=method,
            call_path=path,
            api=api,
            call_tenant=tenant_id,
        )


class HookPlan:
    """Every answer hook; the fake takes the due ones under its lock and runs them outside."""

    def __init__(self) -> None:
        self.hooks: list[AnswerHook] = []

    def add(
        self,
        callback: Callable[[], object],
        *,
        method: str | None,
        path: str | None,
        times: int | None,
        tenant_id: str | None,
    ) -> AnswerHook:
        """Add a hook (checked for bad arguments first)."""
        if not callable(callback):
            raise ConfigurationError(f"callback must be callable, not {callback!r}")
        hook = AnswerHook(
            callback=callback,
            method=None if method is None else method.upper(),
            path=_normal_path(path, "hook"),
            tenant_id=tenant_id,
            remaining=_times(times),
        )
        self.hooks.append(hook)
        return hook

    def take(
        self, method: str, path: str, api: str, tenant_id: str | None
    ) -> list[Callable[[], object]]:
        """The callbacks due after this request's answer, in the order they were added."""
        due = []
        for hook in list(self.hooks):
            if hook.matches(method, path, api, tenant_id):
                due.append(hook.callback)
                if hook.remaining is not None:
                    hook.remaining -= 1
                    if hook.remaining == 0:
                        self.hooks.remove(hook)
        return due

    def clear(self) -> None:
        """Forget every hook."""
        self.hooks.clear()
