"""Rate limits: token buckets per key (a client address, a user, a token) for login attempts and
API requests, and the policy that slows down password guessing.

Buckets live in memory: they protect this process from being flooded, and a restart forgetting
them costs nothing. Failed logins must survive a restart, so they are kept in the security
database (see :mod:`smartfab.platform.security.users`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Growing delays for password guessing, never a hard lock of the account (which would let
    anyone lock out anyone, the admin included). Failures count per account name and client
    address. A client that has failed for an account waits, before its next attempt for it,
    ``first_delay_s`` doubled for each failure beyond ``free_failures`` (at most
    ``max_delay_s``), counting the failures of every client for that account (so that guessing
    from many addresses is slowed down too). A client that has not failed for the account is
    never delayed: others' failures do not keep its owner out. Failures older than
    ``forget_s`` no longer count."""

    free_failures: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 15 * 60
    forget_s: float = 24 * 3600
    max_rows: int = 100_000  # failures remembered at most (the oldest are forgotten first)

    def delay_s(self, own: int, account: int) -> float:
        """Seconds a client with ``own`` recent failures for an account with ``account`` of
        them (every client's) must wait after its last failure."""
        excess = max(own, account) - self.free_failures
        if own == 0 or excess <= 0:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** min(excess - 1, 60))


class RateLimiter:
    """``rate`` requests per second per key on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, max_keys: int = 10_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request of ``key``'s allowance: 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                # Bounded memory whatever the number of clients: full buckets carry no
                # information, so forget them first.
                self._forget_full(now)
            self._buckets[key] = (tokens - 1, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        for k, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # everyone is busy: drop the oldest half
            for k in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.max_keys // 2]:
                del self._buckets[k]
