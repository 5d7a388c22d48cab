"""The rate budget in Redis: one budget per organisation for every process and machine.

Each operation of :class:`~bms_xero.xero.RateBudgetBackend` is one Lua script, so it is
atomic in Redis and costs one round trip. Per tenant (``{prefix}:t:<tenant id>:...``):

- ``slots``: a sorted set of slot lease ids scored by when they expire, in milliseconds on
  *Redis'* clock (``TIME``), so leases of processes on different machines are compared on one
  clock. A lease is renewed by its process every third of its life (:class:`LeaseKeeper`);
  a killed process's lease simply runs out.
- ``sends``: a sorted set of request numbers scored by when each was sent (epoch seconds, the
  limiter's clock); ``answers``: a hash of when each one's answer came.
- ``state``: a hash with the request counter, Xero's last readings, the hold and the park.

and ``{prefix}:app`` for the app-wide counter and reading. Every key is in the hash slot of
``{prefix}``, so the scripts also run on Redis Cluster (one slot per budget). Keys expire on
their own after a few idle days. Install with ``pip install "bms-xero[redis]"``.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import attrs
import redis
import redis.exceptions

from bms_xero.errors import ConfigurationError, StorageError
from bms_xero.xero._budget import (
    BudgetReadings,
    LeaseKeeper,
    RateBudgetUnavailable,
    RequestStart,
    SentRequest,
    SlotLease,
    XeroReading,
    describe_failure,
    new_lease_id,
    redact_url,
)

__all__ = ["RedisRateBudget"]

#: How long the state of an idle tenant (its counter, readings, hold, park) is kept.
_STATE_TTL_MS: Final = 3 * 86_400_000

# Each script starts with effects replication (needed before Redis 5 for scripts that read
# TIME and then write; a no-op since).
_PRELUDE = "if redis.replicate_commands then redis.replicate_commands() end\n"

_NOW_MS = """
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function fmt(x) return string.format('%.17g', x) end
"""

_TAKE_SLOT = (
    _PRELUDE
    + _NOW_MS
    + """
-- KEYS[1] slots. ARGV: lease id, concurrent, lease ms. 1 when taken, 0 when all are held.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now_ms))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], fmt(now_ms + tonumber(ARGV[3])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 4 * tonumber(ARGV[3]))
return 1
"""
)

_RENEW = (
    _PRELUDE
    + _NOW_MS
    + """
-- KEYS[1] slots. ARGV: lease ms, lease ids... Returns the ids that had expired (lost).
local lost = {}
for i = 2, #ARGV do
  local expires = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if expires and tonumber(expires) > now_ms then
    redis.call('ZADD', KEYS[1], 'XX', fmt(now_ms + tonumber(ARGV[1])), ARGV[i])
  else
    redis.call('ZREM', KEYS[1], ARGV[i])
    table.insert(lost, ARGV[i])
  end
end
redis.call('PEXPIRE', KEYS[1], 4 * tonumber(ARGV[1]))
return lost
"""
)

_RECORD_START = """
-- KEYS: sends, answers, state, app. ARGV: now, window, keep, limit, window ttl ms, state ttl ms.
-- {seq, app_seq} when counted; nil when the window already holds `limit` requests.
local now = tonumber(ARGV[1])
local cutoff = string.format('%.17g', now - tonumber(ARGV[3]))
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
for i = 1, #old, 500 do
  redis.call('HDEL', KEYS[2], unpack(old, i, math.min(i + 499, #old)))
end
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
end
local since = '(' .. string.format('%.17g', now - tonumber(ARGV[2]))
if redis.call('ZCOUNT', KEYS[1], since, '+inf') >= tonumber(ARGV[4]) then
  return false
end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('ZADD', KEYS[1], ARGV[1], seq)
local app_seq = redis.call('HINCRBY', KEYS[4], 'seq', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
return {seq, app_seq}
"""

_FINISH = """
-- KEYS: slots, sends, answers, state, app. ARGV: lease id, seq ('' when no request was
-- counted), app seq, now, minute, day, app ('' when Xero did not say), state ttl ms.
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  return 1
end
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
end
-- A reading about an older request than the one kept is ignored (answers come out of order).
local function newest(key, field, seq)
  local kept = redis.call('HGET', key, field)
  return (not kept) or tonumber(seq) >= tonumber(kept)
end
if ARGV[5] ~= '' and newest(KEYS[4], 'm_seq', ARGV[2]) then
  redis.call('HSET', KEYS[4], 'm_rem', ARGV[5], 'm_seq', ARGV[2], 'm_at', ARGV[4])
end
if ARGV[6] ~= '' and newest(KEYS[4], 'd_seq', ARGV[2]) then
  redis.call('HSET', KEYS[4], 'd_rem', ARGV[6], 'd_seq', ARGV[2], 'd_at', ARGV[4])
end
if ARGV[7] ~= '' and newest(KEYS[5], 'r_seq', ARGV[3]) then
  redis.call('HSET', KEYS[5], 'r_rem', ARGV[7], 'r_seq', ARGV[3], 'r_at', ARGV[4])
  redis.call('PEXPIRE', KEYS[5], ARGV[8])
end
redis.call('PEXPIRE', KEYS[4], ARGV[8])
return 1
"""

_HOLD = """
-- KEYS[1] state. ARGV: until, state ttl ms. The latest hold wins; hold_seq is seq now.
local kept = redis.call('HGET', KEYS[1], 'hold_until')
if (not kept) or tonumber(ARGV[1]) > tonumber(kept) then
  redis.call('HSET', KEYS[1], 'hold_until', ARGV[1])
end
redis.call('HSET', KEYS[1], 'hold_seq', redis.call('HGET', KEYS[1], 'seq') or 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_PARK = """
-- KEYS[1] state. ARGV: until (epoch seconds), until (ISO 8601), state ttl ms. Latest wins.
local kept = redis.call('HGET', KEYS[1], 'park_at')
if (not kept) or tonumber(ARGV[1]) > tonumber(kept) then
  redis.call('HSET', KEYS[1], 'park_at', ARGV[1], 'park_iso', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

_READINGS = (
    _PRELUDE
    + _NOW_MS
    + """
-- KEYS: slots, sends, answers, state, app. ARGV: now, window, margin, limit.
-- {in_flight, in_window, recent, blocking, opener, state (flat), app (flat)}; a request is
-- {seq, sent_at, answered_at or ''}.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[4])
local function request(seq, sent)
  return {tostring(seq), sent, redis.call('HGET', KEYS[3], tostring(seq)) or ''}
end
local in_flight = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now_ms), '+inf')
local in_window = redis.call('ZCOUNT', KEYS[2], '(' .. fmt(now - tonumber(ARGV[2])), '+inf')
local since = '(' .. fmt(now - tonumber(ARGV[2]) - tonumber(ARGV[3]))
local recent = redis.call('ZCOUNT', KEYS[2], since, '+inf')
local blocking = false
if recent >= limit then
  local found = redis.call(
    'ZREVRANGEBYSCORE', KEYS[2], '+inf', since, 'WITHSCORES', 'LIMIT', limit - 1, 1)
  if #found == 2 then blocking = request(found[1], found[2]) end
end
local opener = false
local minute = redis.call('HMGET', KEYS[4], 'm_rem', 'm_seq')
if minute[1] and minute[2] then
  -- bms_xero.xero._budget.opener_seq: seq - (limit - remaining) + 1
  local seq = tonumber(minute[2]) - (limit - tonumber(minute[1])) + 1
  local sent = redis.call('ZSCORE', KEYS[2], string.format('%d', seq))
  if sent then opener = request(string.format('%d', seq), sent) end
end
return {in_flight, in_window, recent, blocking, opener,
        redis.call('HGETALL', KEYS[4]), redis.call('HGETALL', KEYS[5])}
"""
)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _flat(values: list[Any]) -> dict[str, str]:
    return {_text(values[i]): _text(values[i + 1]) for i in range(0, len(values) - 1, 2)}


def _request(raw: list[Any] | None) -> SentRequest | None:
    if not raw:
        return None
    answered = _text(raw[2])
    return SentRequest(
        int(_text(raw[0])), float(_text(raw[1])), float(answered) if answered else None
    )


def _reading(fields: dict[str, str], prefix: str) -> XeroReading | None:
    try:
        return XeroReading(
            int(fields[f"{prefix}_rem"]),
            int(fields[f"{prefix}_seq"]),
            float(fields[f"{prefix}_at"]),
        )
    except KeyError:
        return None


def _positive_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"RedisRateBudget {name} must be a number of seconds > 0")
    return float(value)


def _where(client: redis.Redis) -> str:
    """The server a client talks to, for reprs and errors: never its password."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{host}:{port}/{db}"


@attrs.frozen
class _Keys:
    slots: str
    sends: str
    answers: str
    state: str
    app: str

    @property
    def all(self) -> list[str]:
        return [self.slots, self.sends, self.answers, self.state, self.app]


class RedisRateBudget:
    """One rate budget per organisation, in Redis (redis-py), for every process sharing it.

    Give every process that calls Xero for the same app the same Redis and ``prefix``::

        budget = RedisRateBudget.from_url("redis://127.0.0.1:6379/0")
        client = XeroClient.from_token_store(..., rate_budget=budget)

    If Redis can't be reached, calls fail closed with
    :class:`~bms_xero.xero.RateBudgetUnavailable` before anything is sent (see
    docs/rate-limits.md for why).

    Args:
        client: A ``redis.Redis`` (thread-safe; its pool survives a fork). Give it short
            socket timeouts, so a Redis that is gone is an error within seconds rather than a
            hung worker (``from_url`` does).
        prefix: Names this budget's keys: one budget per Xero app. No braces (the keys use
            ``{prefix}`` as their Redis Cluster hash tag).
        lease: Seconds an in-flight slot stays taken without a renewal: how long a killed
            process can hold one. Renewed every third of it while the request runs.
        location: How errors and the repr name the server (default: from the client's
            connection settings, without the password).
        owns_client: :meth:`close` closes ``client`` too (``from_url`` sets it).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "bms_xero:rate",
        lease: float = 5.0,
        location: str | None = None,
        owns_client: bool = False,
    ) -> None:
        if not isinstance(client, redis.Redis):
            raise ConfigurationError(
                f"client must be a redis.Redis, not {type(client).__name__}; or use "
                "RedisRateBudget.from_url(url)"
            )
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                f"prefix must be a non-empty string without braces, not {prefix!r}"
            )
        self._lease = _positive_seconds("lease", lease)
        self._client = client
        self._prefix = prefix
        self._tag = "{" + prefix + "}"
        self._where = redact_url(location) if location else _where(client)
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("take", _TAKE_SLOT),
                ("renew", _RENEW),
                ("start", _RECORD_START),
                ("finish", _FINISH),
                ("hold", _HOLD),
                ("park", _PARK),
                ("readings", _READINGS),
            )
        }
        self._keeper = LeaseKeeper(self._renew, every=self._lease / 3, name=f"redis {prefix}")
        self._password = client.connection_pool.connection_kwargs.get("password")
        self._owns_client = bool(owns_client)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "bms_xero:rate",
        lease: float = 5.0,
        timeout: float = 2.0,
    ) -> RedisRateBudget:
        """A budget on the Redis at ``url`` (``redis://[:password@]host:port/db``,
        ``rediss://`` for TLS, ``unix:///path?db=0``).

        Args:
            url: The server.
            prefix: See the class.
            lease: See the class.
            timeout: Seconds to connect and to wait for each answer.
        """
        if not isinstance(url, str) or not url.strip():
            raise ConfigurationError("url must be a Redis URL such as redis://127.0.0.1:6379/0")
        timeout = _positive_seconds("timeout", timeout)
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as e:
            raise ConfigurationError(
                f"{redact_url(url)} is not a Redis URL ({describe_failure(e)}); use "
                "redis://[:password@]host:port/db"
            ) from None
        return cls(client, prefix=prefix, lease=lease, location=url, owns_client=True)

    # --- plumbing --------------------------------------------------------------------------

    def _keys(self, tenant_id: str | None) -> _Keys:
        if tenant_id is not None and (not isinstance(tenant_id, str) or not tenant_id):
            raise ConfigurationError("tenant_id must be a non-empty string or None")
        base = f"{self._tag}:t:{tenant_id or ''}"
        return _Keys(
            slots=f"{base}:slots",
            sends=f"{base}:sends",
            answers=f"{base}:answers",
            state=f"{base}:state",
            app=f"{self._tag}:app",
        )

    @contextmanager
    def _calling(self, operation: str, tenant_id: str | None) -> Iterator[None]:
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
            raise RateBudgetUnavailable(
                backend=f"Redis at {self._where}",
                operation=operation,
                reason=describe_failure(e, self._password),
                tenant_id=tenant_id,
            ) from None
        except redis.exceptions.RedisError as e:
            raise StorageError(
                f"the shared rate budget (Redis at {self._where}) refused to {operation} "
                f"({describe_failure(e, self._password)}); check that prefix "
                f"{self._prefix!r} is used by bms_xero rate budgets only"
            ) from None

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[name](keys=keys, args=args)

    # --- the port --------------------------------------------------------------------------

    def take_slot(
        self, tenant_id: str | None, *, concurrent: int, timeout: float
    ) -> SlotLease | None:
        """A slot when fewer than ``concurrent`` live leases exist, polling up to ``timeout``."""
        keys = self._keys(tenant_id)
        lease = SlotLease(tenant_id, new_lease_id())
        deadline = time.monotonic() + max(0.0, timeout)
        delay = 0.002
        while True:
            with self._calling("take an in-flight slot", tenant_id):
                taken = self._run(
                    "take", [keys.slots], [lease.lease_id, concurrent, int(self._lease * 1000)]
                )
            if int(taken) == 1:
                self._keeper.add(lease)
                return lease
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            # A real wait: the slot is another request's, not something on our clock. Full
            # jitter, so waiting processes don't poll in step.
            time.sleep(min(left, random.uniform(0, delay)))  # noqa: S311 (not security)
            delay = min(delay * 2, 0.05)

    def _renew(self, leases: list[SlotLease]) -> list[SlotLease]:
        by_tenant: dict[str | None, list[SlotLease]] = {}
        for lease in leases:
            by_tenant.setdefault(lease.tenant_id, []).append(lease)
        lost: list[SlotLease] = []
        for tenant_id, held in by_tenant.items():
            with self._calling("renew in-flight slot leases", tenant_id):
                gone = self._run(
                    "renew",
                    [self._keys(tenant_id).slots],
                    [int(self._lease * 1000), *(lease.lease_id for lease in held)],
                )
            names = {_text(g) for g in gone}
            lost.extend(lease for lease in held if lease.lease_id in names)
        return lost

    def record_start(
        self, tenant_id: str | None, *, now: float, window: float, keep: float, limit: int
    ) -> RequestStart | None:
        """Count a request if the window has room (one script: prune, count, add)."""
        keys = self._keys(tenant_id)
        with self._calling("count a request in the minute window", tenant_id):
            started = self._run(
                "start",
                [keys.sends, keys.answers, keys.state, keys.app],
                [
                    repr(float(now)),
                    repr(float(window)),
                    repr(float(keep)),
                    limit,
                    int(keep * 1000) + 60_000,
                    _STATE_TTL_MS,
                ],
            )
        if started is None:
            return None
        return RequestStart(int(started[0]), int(started[1]))

    def finish(
        self,
        lease: SlotLease,
        *,
        start: RequestStart | None,
        now: float,
        minute: int | None = None,
        day: int | None = None,
        app: int | None = None,
    ) -> None:
        """Give the slot back and keep the answer's readings (one script)."""
        self._keeper.discard(lease)
        keys = self._keys(lease.tenant_id)
        args: list[Any] = [
            lease.lease_id,
            "" if start is None else start.seq,
            "" if start is None else start.app_seq,
            repr(float(now)),
            "" if minute is None else minute,
            "" if day is None else day,
            "" if app is None else app,
            _STATE_TTL_MS,
        ]
        with self._calling("give an in-flight slot back", lease.tenant_id):
            self._run("finish", keys.all, args)

    def hold(self, tenant_id: str | None, *, until: float) -> None:
        """Hold the tenant until ``until`` in every process."""
        keys = self._keys(tenant_id)
        with self._calling("share a hold after a 429", tenant_id):
            self._run("hold", [keys.state], [repr(float(until)), _STATE_TTL_MS])

    def park(self, tenant_id: str | None, *, until: datetime) -> None:
        """Park the tenant until ``until`` in every process."""
        if until.utcoffset() is None:
            raise ConfigurationError("park(until=...) must be a timezone-aware datetime")
        keys = self._keys(tenant_id)
        ttl = max(_STATE_TTL_MS, int((until.timestamp() - time.time()) * 1000) + _STATE_TTL_MS)
        with self._calling("share a day-limit park", tenant_id):
            self._run("park", [keys.state], [repr(until.timestamp()), until.isoformat(), ttl])

    def readings(
        self, tenant_id: str | None, *, now: float, window: float, margin: float, limit: int
    ) -> BudgetReadings:
        """What every process knows about the tenant (one script)."""
        keys = self._keys(tenant_id)
        with self._calling("read the rate budget", tenant_id):
            raw = self._run(
                "readings",
                keys.all,
                [repr(float(now)), repr(float(window)), repr(float(margin)), limit],
            )
        in_flight, in_window, recent, blocking, opener, state_raw, app_raw = raw
        state, app = _flat(state_raw), _flat(app_raw)
        hold = state.get("hold_until")
        park = state.get("park_iso")
        return BudgetReadings(
            tenant_id=tenant_id,
            seq=int(state.get("seq", 0)),
            in_flight=int(in_flight),
            in_window=int(in_window),
            recent=int(recent),
            blocking=_request(blocking),
            minute=_reading(state, "m"),
            opener=_request(opener),
            day=_reading(state, "d"),
            app_seq=int(app.get("seq", 0)),
            app=_reading(app, "r"),
            hold_until=None if hold is None else float(hold),
            hold_seq=int(state.get("hold_seq", 0)),
            parked_until=None if park is None else datetime.fromisoformat(park),
        )

    def held_leases(self) -> list[SlotLease]:
        """The slot leases this process holds and renews now (for tests and diagnostics)."""
        return self._keeper.held()

    def forget(self, tenant_ids: Iterable[str | None]) -> None:
        """Delete what is kept for these tenants (tests, or an organisation disconnected)."""
        for tenant_id in tenant_ids:
            keys = self._keys(tenant_id)
            with self._calling("forget a tenant's budget", tenant_id):
                self._client.delete(keys.slots, keys.sends, keys.answers, keys.state)

    def close(self) -> None:
        """Stop renewing leases (held ones expire within one lease) and, for a budget made by
        :meth:`from_url`, close the client's connections. Idempotent."""
        self._keeper.close()
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"RedisRateBudget({self._where!r}, prefix={self._prefix!r}, lease={self._lease:g})"
