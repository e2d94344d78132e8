"""Many floats as ``repr`` text at once: the export's time columns, at tens of ns a value.

CPython's ``float.__repr__`` (David Gay's shortest round-trip digits) costs 0.5-0.8 us a value on
this project's machines, which alone keeps a full export under 1 M rows/s. orjson formats a numpy
array with a proven shortest round-trip algorithm, in C, and writes the same text as ``repr`` for
every finite value with ``|x| >= 1e-4`` and for zeros (``-0.0`` too): the same digits (shortest,
then closest), positional below 1e16, ``1e+16`` style from there. Below 1e-4 the two lay the digits
out differently (``1e-05`` against ``0.00001``), so those values, NaN and infinities go to ``repr``.

That equality is checked at import on probe values (the layout boundaries, subnormals, the largest
float, random bit patterns); if an orjson release wrote any of them differently, or orjson is
missing, every value goes to ``repr``: slower, never different.
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
    """Values on and around each boundary of repr's layout, and random bit patterns."""
    edges = np.array([0.0, -0.0, 1e-4, 1e16, 1e17, 1e21, 1e22, 1e308, 5e-324, 2.2250738585072014e-308,
                      1.7976931348623157e308, 0.1, 0.15, 1.0, 2.0 ** 53, 2.0 ** 63, 9007199254740993.0,
                      1.7e9, 1700000000.1234567, 123456789.123, 760.0, 1e-3])
    with np.errstate(over="ignore"):  # the float after the largest is inf: left out below
        near = np.concatenate([np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2 ** 63 - 1, 4000, dtype=np.int64).view(np.float64)
    spread = 10.0 ** rng.uniform(-5.0, 18.0, 4000) * rng.uniform(1.0, 10.0, 4000)
    values = np.concatenate([edges, near, bits, spread])
    values = np.concatenate([values, -values])
    return values[_in_domain(values)]


def _in_domain(a: np.ndarray) -> np.ndarray:
    size = np.abs(a)
    out: np.ndarray = ((size >= _LOW) & (size < np.inf)) | (a == 0.0)
    return out


_OPEN_TO_COMMA = bytes.maketrans(b"[", b",")


def _cells(text: bytes, comma: bool) -> list[str]:
    """orjson's array text cut into cells: a 1-D array's ``[a,b]`` into ``a``, ``b``; with `comma`,
    a 2-D one's ``[[a],[b,c]]`` into ``,a`` and ``,b,c`` (each row's cells after a comma, which a
    CSV line wants anyway: one string per row, the comma included)."""
    if comma:
        return text[1:-2].translate(_OPEN_TO_COMMA).decode("ascii").split("],")
    return text[1:-1].decode("ascii").split(",")


def _checked() -> Callable[[np.ndarray], bytes] | None:
    """orjson's formatter if it writes every probe as repr does (alone and as rows of one), and
    rows of integers as ``[[a,b],[c,d]]``, else None."""
    dumps = _fast_dumps()
    if dumps is None:
        return None
    probes = _probes()
    want = _slow(probes)
    if _cells(dumps(probes), False) != want:  # pragma: no cover - a different orjson
        return None
    if _cells(dumps(probes.reshape(-1, 1)), True) != ["," + w for w in want]:  # pragma: no cover
        return None
    pairs = np.array([[0, -1], [2 ** 31 - 1, -(2 ** 31)], [2 ** 63 - 1, -(2 ** 63)], [7, 42]], dtype=np.int64)
    if _cells(dumps(pairs), True) != [f",{a},{b}" for a, b in pairs.tolist()]:  # pragma: no cover
        return None
    return dumps


_DUMPS = _checked()


def float_reprs(a: np.ndarray, comma: bool = False) -> list[str]:
    """``[repr(float(x)) for x in a]`` (with `comma`, each text after a comma), the same text,
    formatted in C where that is proven equal."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    lead = "," if comma else ""
    if _DUMPS is None or a.size == 0:
        return [lead + w for w in _slow(a)] if comma else _slow(a)
    fast = _in_domain(a)
    shape = (-1, 1) if comma else (-1,)
    if fast.all():
        return _cells(_DUMPS(a.reshape(shape)), comma)
    out = _cells(_DUMPS(np.where(fast, a, 0.0).reshape(shape)), comma)
    rest = np.flatnonzero(~fast)
    for k, text in zip(rest.tolist(), _slow(a[rest])):
        out[k] = lead + text
    return out


def int_rows(a: np.ndarray) -> list[str]:
    """Each row of a 2-D integer array as its numbers, each after a comma (``,1,42``): one text
    per row, formatted in C."""
    if _DUMPS is None or a.shape[0] == 0:
        return ["".join(f",{x}" for x in row) for row in a.tolist()]
    return _cells(_DUMPS(np.ascontiguousarray(a, dtype=np.int64)), True)
