"""The store's CSV writer gives the bytes pandas gives, on tables of every column type it takes
(and hands the others to pandas): generated tables with missing values, signed zeros, quotes,
separators and line breaks in strings, dates with and without a time of day."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from contactsim.store import csv_text

FLOATS = st.floats() | st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.1, 1 / 3])
TEXTS = st.text(alphabet=list('ab ,"\'-\n\r\t;'), max_size=5) | st.none()
TIMES = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1))
MIDNIGHTS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)).map(
    pd.Timestamp)
COLUMN = {
    "float": (FLOATS, float),
    "int": (st.integers(-2**62, 2**62), "int64"),
    "bool": (st.booleans(), bool),
    "str": (TEXTS, "str"),
    "time": (TIMES, "datetime64[us]"),
    "date": (MIDNIGHTS | st.none(), "datetime64[us]"),
    "object": (TEXTS | FLOATS | st.integers(-5, 5), object),  # left to pandas
    "Int64": (st.integers(-5, 5) | st.none(), "Int64"),  # left to pandas
}


@st.composite
def tables(draw):
    n = draw(st.integers(0, 30))
    columns = {}
    for j in range(draw(st.integers(1, 5))):
        values, dtype = COLUMN[draw(st.sampled_from(sorted(COLUMN)))]
        name = draw(st.sampled_from(["value", "b,c", 'q"', "x y"])) + str(j)
        columns[name] = pd.Series(draw(st.lists(values, min_size=n, max_size=n)), dtype=dtype)
    return pd.DataFrame(columns)


@settings(max_examples=400, deadline=None)
@given(tables())
def test_same_bytes_as_pandas(table):
    assert csv_text(table) == table.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def test_a_results_table():
    table = pd.DataFrame({
        "scenario": pd.Series(["met-2018-07"] * 4, dtype="str"),
        "replication": [0, 0, 1, 1],
        "start": pd.to_datetime(["2018-07-02 00:00", "2018-07-02 00:15"] * 2),
        "metric": pd.Series(["offered", "asa_s", "offered", "asa_s"], dtype="str"),
        "value": [51.0, float("nan"), -0.0, 1 / 3],
    })
    assert csv_text(table) == (
        "scenario,replication,start,metric,value\n"
        "met-2018-07,0,2018-07-02 00:00:00,offered,51\n"
        "met-2018-07,0,2018-07-02 00:15:00,asa_s,\n"
        "met-2018-07,1,2018-07-02 00:00:00,offered,-0\n"
        "met-2018-07,1,2018-07-02 00:15:00,asa_s,0.3333333333\n"
    )
