"""Apprehension groups read from files: the column-wise reader agrees with the row-wise one."""

import numpy as np
import orjson
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from geo_service.services import apprehension_groups as groups

group = st.fixed_dictionaries(
    {"nationality": st.sampled_from(["AFG", "PAK", "SYR", "MAR"]), "persons": st.integers(1, 50)},
    optional={"minors": st.integers(0, 50), "women": st.integers(0, 50)},
)
cell = st.one_of(
    st.none(), st.just(""), st.lists(group, max_size=3).map(orjson.dumps).map(bytes.decode)
)


def row_wise(values: pd.Series, rows: np.ndarray):
    # The same column with one unreadable value forces the row-wise reader.
    return groups.from_values(
        pd.Series([*values.tolist(), "not json"], dtype=object), np.append(rows, 0)
    )


@given(st.lists(cell, min_size=1, max_size=30))
def test_column_wise_and_row_wise_readers_agree(cells):
    values = pd.Series(cells, dtype=object)
    rows = np.arange(1, len(cells) + 1)
    fast, fast_errors = groups.from_values(values, rows)
    slow, slow_errors = row_wise(values, rows)
    assert fast_errors == [] and [e.reason for e in slow_errors] == [
        "must be a JSON array of groups"
    ]
    for name in ("incident", "nationality", "persons", "minors", "women"):
        assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name


def test_faults_are_named_per_row():
    values = pd.Series(
        [
            '[{"nationality": "AFG", "persons": "five"}]',
            '[{"persons": 2}]',
            "{}",
            '[{"nationality": "PAK", "persons": 2.5}]',
        ],
        dtype=object,
    )
    _, errors = groups.from_values(values, np.array([1, 2, 3, 4]))
    reasons = {(e.row, e.field): e.reason for e in errors}
    assert reasons[(1, "apprehensions[0].persons")] == "must be a whole number, got 'five'"
    assert reasons[(2, "apprehensions[0]")] == "must be an object with nationality and persons"
    assert reasons[(3, "apprehensions")] == "must be an array of groups"
    assert reasons[(4, "apprehensions[0].persons")] == "must be a whole number, got 2.5"
