"""The export's fast float text (orjson where proven equal to repr, repr elsewhere) is repr's text:
for any float, and for whole blocks of rows against the per-row reference formatter, with and
without orjson."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.files.test_scale_overview import reference_lines
from viper_tui.files import export, float_text
from viper_tui.files.recorded import Rows
from viper_tui.readings import Status

ODD = [math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
       1e-4, math.nextafter(1e-4, 0.0), math.nextafter(1e-4, 1.0), 1e-5, 1.2e-6, 1e16, 1e16 - 2.0, 1e22,
       1.7976931348623157e308, 1.7e9, 1700000000.5, 1700000123.0, 0.15, 0.1 + 0.2, 2.0 ** 53 + 2.0]
BITS = st.integers(0, 2 ** 64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), BITS, st.sampled_from(ODD),
                   st.floats(1e9, 3e9), st.floats(-1e6, 1e8))
CODES = st.sampled_from([int(s) for s in Status] + [7, 42, 254])


@pytest.fixture(params=["orjson", "repr only"])
def formatter(request, monkeypatch):
    """Both ways the export can run: with orjson (checked at import) and without it."""
    assert float_text._DUMPS is not None  # orjson is a dependency and passed its check
    if request.param == "repr only":
        monkeypatch.setattr(float_text, "_DUMPS", None)
    return request.param


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(FLOATS, max_size=200))
@example(values=ODD)
def test_float_reprs_is_repr(formatter, values):
    assert float_text.float_reprs(np.array(values, dtype=np.float64)) == [repr(v) for v in values]


@st.composite
def blocks(draw: st.DrawFn) -> Rows:
    n = draw(st.integers(1, 300))
    floats = st.lists(FLOATS, min_size=n, max_size=n)
    repeated = st.lists(st.sampled_from(draw(st.lists(FLOATS, min_size=1, max_size=4))),
                        min_size=n, max_size=n)  # pressures repeat: the table path
    ints = st.lists(st.integers(-2 ** 31, 2 ** 31 - 1), min_size=n, max_size=n)
    runs = st.lists(st.sampled_from([0, 1, 2, 2 ** 31 - 1]), min_size=n, max_size=n)
    triples = st.tuples(CODES, CODES, CODES)
    few = st.sampled_from(draw(st.lists(triples, min_size=1, max_size=3)))  # statuses repeat too
    status = np.array(draw(st.lists(st.one_of(triples, few) if draw(st.booleans()) else few,
                                    min_size=n, max_size=n)), dtype="u1")
    pressures = [np.array(draw(st.one_of(floats, repeated)), dtype=np.float64) for _ in range(3)]
    return Rows(0, np.array(draw(ints), dtype="i4"), np.array(draw(floats), dtype=np.float64),
                *pressures, np.array(draw(floats), dtype=np.float64), np.array(draw(runs), dtype="i4"),
                status.reshape(n, 3))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=blocks(), keep=st.booleans())
def test_row_text_equals_the_per_row_reference(formatter, rows, keep):
    want = "".join(line + "\n" for line in reference_lines(rows, keep))
    assert export.row_text(rows, keep) == want


def test_a_large_block_of_gauge_like_rows(formatter):
    """The block sizes the export uses (tables for repeated pressures and statuses, one orjson call
    per column), with every kind of odd time mixed in."""
    rng = np.random.default_rng(392)
    n = export.FORMAT_ROWS
    elapsed = np.arange(n) * 0.15 + rng.uniform(-0.002, 0.002, n)
    elapsed[:len(ODD)] = ODD
    t = 1.7e9 + elapsed
    t[-len(ODD):] = ODD
    status = np.zeros((n, 3), "u1")
    status[::500, 0] = Status.IG_OFF
    status[7::1000, 2] = Status.OVER_RANGE
    rows = Rows(0, np.arange(n, dtype="i4"), elapsed, np.round(1.2e-6 * rng.uniform(0.98, 1.02, n), 8),
                np.round(1.1e-3 * rng.uniform(0.95, 1.05, n), 5), np.full(n, 760.0), t,
                np.ones(n, "i4"), status)
    for keep in (False, True):
        assert export.row_text(rows, keep) == "".join(line + "\n" for line in reference_lines(rows, keep))
