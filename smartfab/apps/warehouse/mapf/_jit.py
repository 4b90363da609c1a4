"""Numba when it is installed (the ``warehouse`` extra), plain Python otherwise: the kernels are
written in the subset of Python that Numba compiles, so they also run uncompiled, about a hundred
times slower (enough for a fleet of tens of AGVs, not for benchmark instances)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

try:
    import numba

    COMPILED = True

    def jit(parallel: bool = False) -> Callable[[F], F]:
        """Compile to machine code (cached on disk beside the module)."""
        return cast(Callable[[F], F], numba.njit(cache=True, parallel=parallel, nogil=True))

    prange: Callable[..., Any] = numba.prange
except ImportError:  # pragma: no cover - depends on the installation
    COMPILED = False

    def jit(parallel: bool = False) -> Callable[[F], F]:
        """Without Numba: the function as it is."""
        return lambda function: function

    prange = range
