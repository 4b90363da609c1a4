"""Random streams of the virtual plant: one per machine (and per purpose), from the seed."""

from __future__ import annotations

import hashlib

import numpy as np


def entropy(seed: int, path: str) -> list[int]:
    """Seed material of one random stream: the seed and a stable hash of whose stream it is, so
    that adding a machine to the plant leaves the others as they were."""
    digest = hashlib.blake2b(path.encode(), digest_size=16).digest()
    return [seed % 2**64, *np.frombuffer(digest, np.uint32).tolist()]
