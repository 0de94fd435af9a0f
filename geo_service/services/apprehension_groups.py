"""Apprehension groups of many incidents as flat columns: one entry per nationality group.

Held apart from the incidents so that a million imported rows are checked with array
operations, not a loop per group.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from geo_service import domain
from geo_service.services.errors import FieldError


def duplicated(*columns: np.ndarray, seen: set[tuple[Any, ...]] | None = None) -> np.ndarray:
    """Whether each row's values appeared together in an earlier row (or in `seen`, which
    collects the rows' values)."""
    seen = set() if seen is None else seen
    out = np.zeros(len(columns[0]), dtype=bool)
    for i, key in enumerate(zip(*(c.tolist() for c in columns), strict=True)):
        if key in seen:
            out[i] = True
        seen.add(key)
    return out


COUNTS = ("persons", "minors", "women")
MAX_PERSONS = 10_000
_LARGEST = 2**31 - 1  # what the database's integer columns hold


@dataclass(frozen=True)
class Groups:
    """`incident[k]` is the position of group k's incident among the rows; sorted by it."""

    incident: np.ndarray
    nationality: np.ndarray
    persons: np.ndarray
    minors: np.ndarray
    women: np.ndarray

    def __len__(self) -> int:
        return len(self.incident)

    def subset(self, positions: np.ndarray, n_rows: int) -> Groups:
        """The groups of the rows at `positions` (increasing), renumbered to their new places."""
        new_place = np.full(n_rows, -1, dtype=np.int64)
        new_place[positions] = np.arange(len(positions))
        moved = new_place[self.incident]
        keep = moved >= 0
        return Groups(
            moved[keep],
            self.nationality[keep],
            self.persons[keep],
            self.minors[keep],
            self.women[keep],
        )

    def ordinal(self) -> np.ndarray:
        """Each group's index within its incident's list."""
        first = np.searchsorted(self.incident, self.incident, side="left")
        return np.arange(len(self)) - first

    def of(self, position: int) -> list[dict[str, Any]]:
        """The groups of one row, as dicts."""
        lo, hi = np.searchsorted(self.incident, [position, position + 1])
        return [
            {
                "nationality": str(self.nationality[k]),
                "persons": int(self.persons[k]),
                "minors": int(self.minors[k]),
                "women": int(self.women[k]),
            }
            for k in range(lo, hi)
        ]

    def persons_per_row(self, n_rows: int) -> np.ndarray:
        return np.bincount(self.incident, weights=self.persons, minlength=n_rows).astype(np.int64)

    def canonical(self, n_rows: int) -> np.ndarray:
        """Per row, its groups as one text ordered by nationality ('' where none)."""
        out = np.full(n_rows, "", dtype=object)
        if not len(self):
            return out
        order = np.lexsort((self.nationality.astype(str), self.incident))
        text = np.array(
            [
                f"{n}:{p}:{m}:{w},"
                for n, p, m, w in zip(
                    self.nationality[order],
                    self.persons[order].tolist(),
                    self.minors[order].tolist(),
                    self.women[order].tolist(),
                    strict=True,
                )
            ],
            dtype=object,
        )
        incident = self.incident[order]
        starts = np.flatnonzero(np.r_[True, incident[1:] != incident[:-1]])
        out[incident[starts]] = np.add.reduceat(text, starts)
        return out


def empty() -> Groups:
    return from_lists([])


def from_lists(per_row: Sequence[Sequence[dict[str, Any]]]) -> Groups:
    """Groups from already checked dicts, one list per row."""
    flat = [(i, g) for i, gs in enumerate(per_row) for g in gs]
    return Groups(
        np.array([i for i, _ in flat], dtype=np.int64),
        np.array([g["nationality"] for _, g in flat], dtype=object),
        np.array([g["persons"] for _, g in flat], dtype=np.int64),
        np.array([g.get("minors", 0) for _, g in flat], dtype=np.int64),
        np.array([g.get("women", 0) for _, g in flat], dtype=np.int64),
    )


def _decode(values: pd.Series, rows: np.ndarray, errors: list[FieldError]) -> list[tuple[int, Any]]:
    """(position, list of groups) for each row that has any; JSON text is decoded."""
    as_text = values.astype("string")
    blank = np.asarray(as_text.isna() | (as_text.str.strip() == ""), dtype=bool)
    positions = np.flatnonzero(~blank)
    present = list(zip(positions.tolist(), values.to_numpy(dtype=object)[positions], strict=True))
    texts = [(i, v) for i, v in present if isinstance(v, str)]
    decoded: dict[int, Any] = {}
    if texts:
        try:  # one decode for the whole column is many times faster than one per row
            joined = orjson.loads(("[" + ",".join(v for _, v in texts) + "]").encode())
            if len(joined) != len(texts):
                raise ValueError("a value held several JSON values")
            decoded = {i: g for (i, _), g in zip(texts, joined, strict=True)}
        except (orjson.JSONDecodeError, ValueError):
            for i, v in texts:
                try:
                    decoded[i] = orjson.loads(v)
                except orjson.JSONDecodeError:
                    errors.append(
                        FieldError("apprehensions", "must be a JSON array of groups", int(rows[i]))
                    )
    out = []
    for i, v in present:
        value = decoded.get(i, v) if isinstance(v, str) else v
        if isinstance(v, str) and i not in decoded:
            continue
        value = _plain(value)
        if not isinstance(value, list):
            errors.append(FieldError("apprehensions", "must be an array of groups", int(rows[i])))
            continue
        out.append((i, value))
    return out


def _whole(values: list[Any], field: str, where: list[tuple[int, int]], rows, errors) -> np.ndarray:
    if all(type(v) is int and abs(v) <= _LARGEST for v in values):
        return np.array(values, dtype=np.int64)
    out = np.zeros(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        whole = type(v) is int or (type(v) is float and v.is_integer())
        if whole and abs(v) <= _LARGEST:
            out[k] = int(v)
        else:
            i, j = where[k]
            errors.append(
                FieldError(
                    f"apprehensions[{j}].{field}",
                    f"{v!r} is too large" if whole else f"must be a whole number, got {v!r}",
                    int(rows[i]),
                )
            )
    return out


_WIRE = pa.schema(
    [
        pa.field(
            "g",
            pa.list_(
                pa.struct(
                    [
                        pa.field("nationality", pa.string()),
                        *(pa.field(c, pa.int64()) for c in COUNTS),
                    ]
                )
            ),
        )
    ]
)


def _plain(value: Any) -> Any:
    """Lists and dicts of a value read from Parquet (NumPy arrays of dicts) as plain Python."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.item() if isinstance(value, np.generic) else value


def _arrow_groups(values: pd.Series) -> Groups | None:
    """Groups parsed by Arrow's JSON reader, column-wise; None unless every value is a
    well-formed list of groups (the row-wise reader then names each fault)."""
    as_text = values.astype("string")
    present = np.flatnonzero(~np.asarray(as_text.isna() | (as_text.str.strip() == ""), bool))
    if not len(present):
        return empty()
    texts = [
        v if isinstance(v, str) else orjson.dumps(_plain(v)).decode()
        for v in values.to_numpy(dtype=object)[present]
    ]
    if any("\n" in t or "\r" in t for t in texts):
        return None
    lines = "\n".join(f'{{"g":{t}}}' for t in texts).encode()
    try:
        table = pajson.read_json(
            io.BytesIO(lines),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(lines) + 1),
            parse_options=pajson.ParseOptions(
                explicit_schema=_WIRE, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    column = table["g"].combine_chunks()
    if table.num_rows != len(texts) or column.null_count:
        return None
    flat = pc.list_flatten(column)
    fields = {name: flat.field(name) for name in ("nationality", *COUNTS)}
    if fields["nationality"].null_count or fields["persons"].null_count:
        return None
    parents = np.asarray(pc.list_parent_indices(column))
    return Groups(
        present[parents].astype(np.int64),
        np.asarray(fields["nationality"].to_numpy(zero_copy_only=False), dtype=object),
        *(np.asarray(fields[c].fill_null(0)).astype(np.int64) for c in COUNTS),
    )


def from_values(values: pd.Series, rows: np.ndarray) -> tuple[Groups, list[FieldError]]:
    """Groups from a column read out of a file: JSON text or already decoded lists."""
    fast = _arrow_groups(values)
    if fast is not None:
        return fast, []
    errors: list[FieldError] = []
    where: list[tuple[int, int]] = []
    nationality: list[Any] = []
    counts: dict[str, list[Any]] = {c: [] for c in COUNTS}
    for i, groups in _decode(values, rows, errors):
        for j, g in enumerate(groups):
            if type(g) is not dict or "nationality" not in g or "persons" not in g:
                errors.append(
                    FieldError(
                        f"apprehensions[{j}]",
                        "must be an object with nationality and persons",
                        int(rows[i]),
                    )
                )
                continue
            where.append((i, j))
            nationality.append(g["nationality"])
            counts["persons"].append(g["persons"])
            counts["minors"].append(g.get("minors", 0))
            counts["women"].append(g.get("women", 0))
    parsed = {c: _whole(counts[c], c, where, rows, errors) for c in COUNTS}
    return (
        Groups(
            np.array([i for i, _ in where], dtype=np.int64),
            np.array([str(n) for n in nationality], dtype=object),
            parsed["persons"],
            parsed["minors"],
            parsed["women"],
        ),
        errors,
    )


def check(groups: Groups, rows: np.ndarray, involved: np.ndarray) -> list[FieldError]:
    """The rules of apprehension groups; `involved` is persons involved per row (NaN: none)."""
    errors: list[FieldError] = []
    ordinal = groups.ordinal()

    def refuse(mask: np.ndarray, field: str, reason: Any) -> None:
        for k in np.flatnonzero(mask):
            text = reason(k) if callable(reason) else reason
            errors.append(
                FieldError(
                    f"apprehensions[{ordinal[k]}]{field}", text, int(rows[groups.incident[k]])
                )
            )

    nat = groups.nationality
    known = np.fromiter((n in domain.NATIONALITIES for n in nat), dtype=bool, count=len(nat))
    refuse(~known, ".nationality", lambda k: f"unknown ISO 3166-1 alpha-3 code {nat[k]!r}")
    twice = duplicated(groups.incident, nat) & known
    refuse(twice, ".nationality", lambda k: f"{nat[k]} listed twice")
    refuse(
        (groups.persons < 1) | (groups.persons > MAX_PERSONS),
        ".persons",
        f"must be between 1 and {MAX_PERSONS}",
    )
    for name in ("minors", "women"):
        n = getattr(groups, name)
        refuse(n < 0, f".{name}", "must not be negative")
        refuse(
            n > groups.persons,
            f".{name}",
            lambda k, n=n, name=name: (
                f"{n[k]} {name} exceed the group's {groups.persons[k]} persons"
            ),
        )
    total = groups.persons_per_row(len(rows))
    over = ~np.isnan(involved) & (total > np.nan_to_num(involved, nan=0))
    for i in np.flatnonzero(over):
        errors.append(
            FieldError(
                "persons_involved",
                f"{total[i]} persons apprehended exceed the {involved[i]:.0f} persons involved",
                int(rows[i]),
            )
        )
    return errors
