"""One BLAS thread while the practice models are fitted.

The fits are many matrix-vector products and cross-products over a few dozen columns. OpenBLAS
splits each of them over all cores and waits for every thread at its end; with other work on the
machine (a loaded two-core machine is the usual case) a product then waits for a core, and a
half-a-million-row matrix-vector product takes twice as long on two threads as on one (a
fifty-thousand-row one fifty times as long). One thread is never much slower for products this
thin, so the fits run on one.

The thread count is set through OpenBLAS's own C functions, found in the library numpy loads
(``threadpoolctl`` does the same): numpy's and scipy's copies. With another BLAS nothing
changes.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np

#: (get, set) names of the thread-count functions of the OpenBLAS builds numpy ships or links
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)


@cache
def _openblas() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    """(get, set) of each OpenBLAS in the process (numpy's, and scipy's own copy)."""
    found = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            get, put = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and put is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                found.append((get, put))
                break
    return found


def _candidates() -> list[str]:
    """Shared libraries with 'openblas' in their name: those loaded in this process (Linux),
    then those numpy ships beside itself."""
    found: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(maxsplit=1)[-1]
                if "openblas" in os.path.basename(path).lower() and path not in found:
                    found.append(path)
    except OSError:
        pass
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    return found + [
        p for p in sorted(glob.glob(os.path.join(libs, "*openblas*"))) if p not in found
    ]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with OpenBLAS on one thread; the previous counts are restored after."""
    funcs = _openblas()
    before = [get() for get, _ in funcs]
    for _, put in funcs:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(funcs, before, strict=True):
            put(n)
