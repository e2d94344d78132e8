"""Many floats as ``repr`` text at once: the export's time columns, at tens of ns a value.

CPython's ``float.__repr__`` (David Gay's shortest round-trip digits) costs 0.5-0.8 us a value on
this project's machines, which alone keeps a full export under 1 M rows/s. orjson formats a whole
numpy array in C with a shortest round-trip algorithm, and writes the same text as ``repr`` for
every finite value with ``|x| >= 1e-4`` and for zeros (``-0.0`` too): the same digits (the
shortest that read back as the value, then the closest), positional below 1e16, ``1e+16`` style
from there. Below 1e-4 the two lay the digits out differently (``1e-05`` against ``0.00001``), so
those values, NaN and infinities go to ``repr``.

That equality is checked at import on probe values (the layout boundaries and their neighbours,
subnormals, the largest float, scrambled bit patterns, every decade) and by a property test
(tests/files/test_export_float_text.py); if an orjson release wrote any probe differently, or
orjson is missing, every value goes to ``repr``: slower, never different.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_LOW = 1e-4  # below it, repr writes 1e-05 where orjson writes 0.00001


def _slow(a: np.ndarray) -> list[str]:
    return list(map(float.__repr__, a.tolist()))


def _fast_dumps() -> Callable[[np.ndarray], bytes] | None:
    """orjson's array formatter, or None when orjson is missing."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; this keeps the export exact
        return None
    option = orjson.OPT_SERIALIZE_NUMPY

    def dumps(a: np.ndarray) -> bytes:
        return orjson.dumps(a, option=option)

    return dumps


def _probes() -> np.ndarray:
    """Values on and around each boundary of repr's layout, scrambled bit patterns, every decade."""
    edges = np.array([0.0, -0.0, 1e-4, 1e16, 1e17, 1e21, 1e22, 1e308, 5e-324, 2.2250738585072014e-308,
                      1.7976931348623157e308, 0.1, 0.15, 1.0, 2.0 ** 53, 2.0 ** 63, 9007199254740993.0,
                      1.7e9, 1700000000.1234567, 123456789.123, 760.0, 1e-3])
    with np.errstate(over="ignore"):  # the float after the largest is inf: left out below
        near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    k = np.arange(1, 2001, dtype=np.uint64)  # a fixed scramble (numpy.random costs 30 ms to import)
    with np.errstate(over="ignore"):
        mixed = (k * np.uint64(0x9E3779B97F4A7C15)) ^ (k * np.uint64(0xBF58476D1CE4E5B9) >> np.uint64(29))
    bits = (mixed >> np.uint64(1)).view(np.float64)  # any sign-free bit pattern: all exponents
    spread = 10.0 ** ((k % np.uint64(2300)).astype(np.float64) / 100.0 - 5.0) * (1.0 + (k % np.uint64(97)) / 97.0)
    values = np.concatenate([edges, near, bits, spread])
    values = np.concatenate([values, -values])
    return values[_in_domain(values)]


def _in_domain(a: np.ndarray) -> np.ndarray:
    size = np.abs(a)
    out: np.ndarray = ((size >= _LOW) & (size < np.inf)) | (a == 0.0)
    return out


def _cells(text: bytes) -> list[str]:
    """orjson's text of a 1-D array, ``[a,b]``, cut into its cells ``a`` and ``b``."""
    return text[1:-1].decode("ascii").split(",")


def _checked() -> Callable[[np.ndarray], bytes] | None:
    """orjson's formatter if it writes every probe as repr does, and integers as str does, else
    None."""
    dumps = _fast_dumps()
    if dumps is None:
        return None
    probes = _probes()
    if _cells(dumps(probes)) != _slow(probes):  # pragma: no cover - a different orjson
        return None
    ints = np.array([0, -1, 7, 42, 2 ** 31 - 1, -(2 ** 31), 2 ** 63 - 1, -(2 ** 63)], dtype=np.int64)
    for array in (ints, ints[:6].astype(np.int32)):
        if _cells(dumps(array)) != list(map(str, array.tolist())):  # pragma: no cover
            return None
    return dumps


_DUMPS = _checked()


def float_reprs(a: np.ndarray) -> list[str]:
    """``[repr(float(x)) for x in a]``, the same text, formatted in C where checked equal."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    if _DUMPS is None or a.size == 0:
        return _slow(a)
    fast = _in_domain(a)
    if fast.all():
        return _cells(_DUMPS(a))
    out = _cells(_DUMPS(np.where(fast, a, 0.0)))
    rest = np.flatnonzero(~fast)
    for k, text in zip(rest.tolist(), _slow(a[rest])):
        out[k] = text
    return out


def int_texts(a: np.ndarray) -> list[str]:
    """``[str(int(x)) for x in a]`` for a 1-D integer array, formatted in C."""
    if a.dtype not in (np.int32, np.int64):
        a = a.astype(np.int64)
    if _DUMPS is None or a.size == 0:
        return list(map(str, a.tolist()))
    return _cells(_DUMPS(np.ascontiguousarray(a)))
