"""Rate limits: token buckets per key (a client address, a user, a token) for login attempts and
API requests, and the lock-out policy for repeated failed logins.

Buckets live in memory: they protect this process from being flooded, and a restart forgetting
them costs nothing. Lock-outs protect accounts against password guessing and must survive a
restart, so they are kept with the user (see :mod:`smartfab.platform.security.users`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After ``max_failures`` consecutive failed logins an account is locked for ``lock_s``."""

    max_failures: int = 5
    lock_s: float = 15 * 60


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
