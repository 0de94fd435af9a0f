"""Incidents counted per H3 cell inside PostgreSQL, on the stored cell column of the asked
resolution (each computed from the point, so counts match the hexagons drawn).

Whole UTC months and days of a window come from the counts the database keeps per cell
(hex_counts, hex_nationalities); the partial days at its edges, and any filter those counts
do not carry (a box, nationalities, crossing points, sections), from the incidents
themselves. Both sources give the same columns, added up per cell.
"""

import asyncio
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property, reduce
from typing import Any, Literal, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    desc,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service import domain
from geo_service.domain import H3_RESOLUTIONS
from geo_service.store.incidents import IncidentFilter, matching
from geo_service.store.models import (
    ROLLUP_RESOLUTIONS,
    apprehensions,
    hex_counts,
    hex_nationalities,
    incidents,
)
from geo_service.store.reused import Reused
from geo_service.store.visibility import Caller, shared_with, visible_incidents
from geo_service.store.windows import Piece, RawRange, Split, pieces_touched, split

CATEGORIES = domain.CATEGORIES


def kept_counts_serve(where: IncidentFilter, resolution: int) -> bool:
    """Whether the counts kept per cell carry `resolution` and every filter of `where` (so
    that its window's whole days and months come from them, and `tally` can read those apart
    from its edges)."""
    return (
        resolution in ROLLUP_RESOLUTIONS
        and where.bbox is None
        and not where.nationalities
        and not where.crossing_points
        and not where.border_sections
        and not where.cells
        and where.cql is None
    )


# The times of a window's pieces are named parameters (raw0_start, d1_hi, ...): a statement
# made for one window serves every window split alike (see `_reused`).
def _time_values(parts: Split) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for i, r in enumerate(parts.raw):
        values |= {f"raw{i}_start": r.start, f"raw{i}_end": r.end}
    for period, ranges in (("m", parts.months), ("d", parts.days)):
        for i, (lo, hi) in enumerate(ranges):
            values |= {f"{period}{i}_lo": lo, f"{period}{i}_hi": hi}
    return values


def _time_shape(parts: Split) -> tuple[Any, ...]:
    """What a statement's text depends on in a split: which times are open, which edges
    inclusive."""
    return (
        tuple((r.start is None, r.end is None, r.end_inclusive) for r in parts.raw),
        tuple((lo is None, hi is None) for lo, hi in parts.months),
        tuple((lo is None, hi is None) for lo, hi in parts.days),
    )


def _raw_time(column: Any, r: RawRange, i: int) -> ColumnElement[bool]:
    conditions = []
    if r.start is not None:
        conditions.append(column >= bindparam(f"raw{i}_start", r.start))
    if r.end is not None:
        end: Any = bindparam(f"raw{i}_end", r.end)
        conditions.append(column <= end if r.end_inclusive else column < end)
    return and_(*conditions) if conditions else true()


def _kept_time(table: Any, period: str, ranges: Sequence[tuple[Any, Any]]) -> list[Any]:
    """One condition per date range of `period` rows."""
    out = []
    for i, (lo, hi) in enumerate(ranges):
        conditions = [table.c.period == period]
        if lo is not None:
            conditions.append(table.c.start >= bindparam(f"{period}{i}_lo", lo))
        if hi is not None:
            conditions.append(table.c.start < bindparam(f"{period}{i}_hi", hi))
        out.append(and_(*conditions))
    return out


# Which pieces of a window a statement reads: all, or only its whole days and months (from the
# kept counts; its partial days are read by `tally_ranges`).
Part = Literal["all", "whole"]


def _pieces(
    where: IncidentFilter, resolution: int, part: Part = "all"
) -> tuple[Split, IncidentFilter]:
    """The window's split (or `part` of it), and the filter the raw pieces take (their time
    set apart)."""
    if kept_counts_serve(where, resolution):
        parts = split(where.start, where.end)
        if part == "whole":
            parts = Split(months=parts.months, days=parts.days)
        return parts, replace(where, start=None, end=None)
    return Split(raw=[RawRange(None, None, True)]), where


def _kept(
    table: Any,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    parts: Split,
    pieces: Sequence[Piece] | None = None,
):
    """Conditions on a kept-count table for the whole days and months of the window (or only
    those `pieces` of them)."""
    if pieces is not None:
        times = [tuple_(table.c.period, table.c.start).in_(list(pieces))]
    else:
        times = _kept_time(table, "m", parts.months) + _kept_time(table, "d", parts.days)
    if not times:
        return None
    conditions = [
        table.c.resolution == resolution,
        shared_with(caller, table.c.agency, table.c.sharing),
        or_(*times),
    ]
    if where.agencies:
        conditions.append(table.c.agency.in_(list(where.agencies)))
    return and_(*conditions)


@dataclass(frozen=True)
class Within:
    """Only these cells (their hexagons lie within `box`: west, south, east, north)."""

    cells: Sequence[int]
    box: tuple[float, float, float, float]

    def holds(self, column: Any) -> ColumnElement[bool]:
        listed = bindparam("cells", list(self.cells), type_=ARRAY(BigInteger), unique=True)
        return column.in_(select(func.unnest(listed)))


def _raw_counts(
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    r: RawRange,
    i: int,
    categories: Sequence[str],
    *lead: Any,
) -> Select[Any]:
    """The incidents `where` picks (its time aside) within `r`, the `i`th time range of a
    statement, per cell: the `lead` columns, `cell`, the count of each of `categories`
    (`n_<category>`) and the `persons` involved."""
    c = incidents.c
    cell = c[f"h3_res{resolution}"]
    return (
        matching(
            visible_incidents(
                caller,
                *lead,
                cell.label("cell"),
                *(
                    func.count().filter(c.category == k).cast(Integer).label(f"n_{k}")
                    for k in categories
                ),
                func.sum(c.persons_involved).cast(Integer).label("persons"),
            ),
            where,
        )
        .where(_raw_time(c.occurred_at, r, i))
        .group_by(cell)
    )


def _raw_nationalities(
    caller: Caller, where: IncidentFilter, resolution: int, r: RawRange, i: int, *lead: Any
) -> Select[Any]:
    """The groups apprehended in the incidents `where` picks (its time aside) within `r`, the
    `i`th time range of a statement, not yet added up: the `lead` columns, `cell`,
    `nationality` and `persons`."""
    c = incidents.c
    return (
        matching(
            visible_incidents(
                caller,
                *lead,
                c[f"h3_res{resolution}"].label("cell"),
                apprehensions.c.nationality,
                apprehensions.c.persons.label("persons"),
            ),
            where,
        )
        .join(apprehensions, apprehensions.c.incident_id == c.id)
        .where(_raw_time(c.occurred_at, r, i))
    )


def _count_sources(
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    after: int | None,
    within: Within | None = None,
    part: Part = "all",
) -> list[Select[Any]]:
    cell = incidents.c[f"h3_res{resolution}"]
    parts, raw_where = _pieces(where, resolution, part)
    sources: list[Select[Any]] = []
    for i, r in enumerate(parts.raw):
        raw = _raw_counts(caller, raw_where, resolution, r, i, CATEGORIES)
        if after is not None:
            raw = raw.where(cell > after)
        if within is not None:
            raw = raw.where(
                incidents.c.geom.op("&&")(func.ST_MakeEnvelope(*within.box, 4326)),
                within.holds(cell),
            )
        sources.append(raw)
    kept = _kept(hex_counts, caller, where, resolution, parts)
    if kept is not None:
        h = hex_counts.c
        chosen = list(where.categories) or list(CATEGORIES)
        rows = select(
            h.cell,
            *(func.sum(h[f"n_{k}"]).cast(Integer).label(f"n_{k}") for k in CATEGORIES),
            func.sum(reduce(operator.add, (h[f"p_{k}"] for k in chosen)))
            .cast(Integer)
            .label("persons"),
        ).where(kept)
        if after is not None:
            rows = rows.where(h.cell > after)
        if within is not None:
            rows = rows.where(within.holds(h.cell))
        sources.append(rows.group_by(h.cell))
    return sources


def _nationality_sources(
    caller: Caller, where: IncidentFilter, resolution: int, after: int | None, part: Part
) -> list[Select[Any]]:
    """Rows of `cell`, `nationality` and `persons` (apprehended), not yet added up: one
    grouping over all of them is cheaper than one per source and one over their union."""
    cell = incidents.c[f"h3_res{resolution}"]
    parts, raw_where = _pieces(where, resolution, part)
    chosen = list(where.categories) or list(CATEGORIES)
    sources: list[Select[Any]] = []
    for i, r in enumerate(parts.raw):
        raw = _raw_nationalities(caller, raw_where, resolution, r, i)
        if after is not None:
            raw = raw.where(cell > after)
        sources.append(raw)
    kept = _kept(hex_nationalities, caller, where, resolution, parts)
    if kept is not None:
        h = hex_nationalities.c
        persons = reduce(operator.add, (h[f"a_{k}"] for k in chosen))
        rows = select(h.cell, h.nationality, persons.label("persons")).where(kept)
        if after is not None:
            rows = rows.where(h.cell > after)
        sources.append(rows)
    return sources


@dataclass(frozen=True, slots=True)
class CellCount:
    cell: int
    incidents: int
    persons_involved: int
    persons_apprehended: int
    by_category: dict[str, int]
    top_nationality: str | None


def cell_counts(
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    *,
    after: int | None = None,
    limit: int | None = None,
    within: Within | None = None,
    as_json: bool = True,
    part: Part = "all",
) -> Select[Any]:
    """Per cell with incidents, in cell order: `cell`, `incidents`, `persons_involved` and
    `by_category` (a JSON object of the non-zero counts); or, not `as_json`, the count of each
    chosen category as a column of its own (`n_<category>`: cheaper to read than to build
    JSON of)."""
    chosen = list(where.categories) or list(CATEGORIES)
    sources = _count_sources(caller, where, resolution, after, within, part)
    counted = union_all(*sources).subquery("counted")
    n = {k: func.sum(counted.c[f"n_{k}"]) for k in chosen}
    total = reduce(operator.add, n.values())
    categories: list[Any]
    if as_json:
        pairs: list[Any] = []
        for k in chosen:
            pairs += [literal(k), func.nullif(n[k], 0)]
        categories = [func.json_strip_nulls(func.json_build_object(*pairs)).label("by_category")]
    else:
        categories = [n[k].cast(Integer).label(f"n_{k}") for k in chosen]
    return (
        select(
            counted.c.cell,
            total.cast(Integer).label("incidents"),
            func.sum(counted.c.persons).cast(BigInteger).label("persons_involved"),
            *categories,
        )
        .group_by(counted.c.cell)
        .having(total > 0)
        .order_by(counted.c.cell)
        .limit(limit)
    )


def _per_nationality(
    caller: Caller, where: IncidentFilter, resolution: int, after: int | None, part: Part = "all"
) -> Select[Any]:
    """Per cell and nationality: `cell`, `nationality`, `persons` apprehended (when any)."""
    grouped = union_all(*_nationality_sources(caller, where, resolution, after, part)).subquery("g")
    # Integer sums (a sum of bigints is a numeric, much slower to add up).
    persons = func.sum(grouped.c.persons).cast(Integer)
    return (
        select(grouped.c.cell, grouped.c.nationality, persons.label("persons"))
        .group_by(grouped.c.cell, grouped.c.nationality)
        .having(persons > 0)
    )


def _top_nationalities(caller: Caller, where: IncidentFilter, resolution: int, after: int | None):
    per_nationality = _per_nationality(caller, where, resolution, after).subquery("per_nationality")
    # Per cell: all persons apprehended, and the nationality of most (ties to the first code).
    n = per_nationality.c
    ordered = aggregate_order_by(n.nationality, desc(n.persons), n.nationality)
    return select(
        n.cell,
        func.sum(n.persons).label("apprehended"),
        func.array_agg(ordered, type_=ARRAY(String))[1].label("nationality"),
    ).group_by(n.cell)


async def _all(
    engine: AsyncEngine, stmt: Any, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    async with engine.connect() as conn:
        return (await conn.execute(stmt, params)).all()


async def _tuples(
    engine: AsyncEngine, stmt: Any, params: dict[str, Any] | None = None, *, roomy: bool = False
) -> Sequence[tuple[Any, ...]]:
    """`stmt`'s rows as the driver gives them, plain tuples: for the many rows of sums, whose
    fields are read by position (a row object each costs about a microsecond more). `roomy`:
    its groups held in memory rather than sorted on disk (a year's sums per month and day)."""
    async with engine.connect() as conn:
        if roomy:
            await conn.execute(text(f"SET LOCAL work_mem = '{ROOMY_WORK_MEM}'"))
        result = await conn.execute(stmt, params)
        return cast(CursorResult[Any], result).cursor.fetchall()


ROOMY_WORK_MEM = "64MB"
# Rows worked through between turns given to the requests, when reading beside them.
ASIDE_ROWS = 1000


# Statements made for one window, reused for every window split alike (there are a handful
# of shapes per caller and filter).
_REUSED: Reused[Any] = Reused(128)


def _reused(
    what: str, where: IncidentFilter, resolution: int, key: tuple[Any, ...], make: Any
) -> tuple[Any, dict[str, Any]]:
    """`make()`'s statement for `where`, made once per shape of its window, and the values
    of this window's times to execute it with."""
    if not kept_counts_serve(where, resolution):
        return make(), {}  # the window's times are inside the filter's own conditions
    parts = split(where.start, where.end)
    at = (what, replace(where, start=None, end=None), resolution, *key, _time_shape(parts))
    return _REUSED.get(at, make), _time_values(parts)


async def per_cell(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    *,
    limit: int,
    after: int | None = None,
) -> list[CellCount]:
    """Per cell with incidents, in cell order after `after`, at most `limit`: the incidents,
    persons involved and apprehended, the count per category, and the top nationality (most
    persons apprehended; ties to the first code). The counts and the nationalities are two
    statements run side by side on two connections."""
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"resolution {resolution} is not stored")
    counts, times = _reused(
        "counts",
        where,
        resolution,
        (caller, after, limit),
        lambda: cell_counts(caller, where, resolution, after=after, limit=limit, as_json=False),
    )
    tops_stmt, _ = _reused(
        "tops",
        where,
        resolution,
        (caller, after),
        lambda: _top_nationalities(caller, where, resolution, after),
    )
    counted, tops = await asyncio.gather(
        _tuples(engine, counts, times), _tuples(engine, tops_stmt, times)
    )
    # Rows as plain tuples: a cell's fields by position (a ~1,500-cell page a few ms sooner).
    top = {cell: (int(apprehended), nationality) for cell, apprehended, nationality in tops}
    chosen = list(where.categories) or list(CATEGORIES)
    none = (0, None)
    out = []
    for cell, total, persons, *by_category in counted:
        apprehended, nationality = top.get(cell, none)
        categories = {k: n for k, n in zip(chosen, by_category, strict=True) if n}
        out.append(CellCount(cell, total, persons, apprehended, categories, nationality))
    return out


def whole_of(where: IncidentFilter) -> tuple[Any, ...]:
    """What the whole days and months of `where`'s window are read with: its filter but the
    time, and those days and months."""
    parts = split(where.start, where.end)
    return (replace(where, start=None, end=None), tuple(parts.months), tuple(parts.days))


@dataclass(frozen=True)
class Tally:
    """Sums per cell over one piece of a window, to be added to another piece's: per cell the
    count of each chosen category and the persons involved (last); per cell and nationality
    the persons apprehended. With `pieces`, the same sums per month and day they add up from
    (so that a change to one day can be amended by reading that day again). Shared once made
    (kept between requests): not to be modified."""

    counts: dict[int, tuple[int, ...]]
    apprehended: dict[int, dict[str, int]]
    # Its cells as `per_cell` gives them, worked out once (per list of categories).
    _cells: dict[tuple[str, ...], dict[int, "CellCount"]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # What its users make of its cells, kept as long as it is (their own keys and values).
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    # The last sums added to it (per list of categories), with the cells they gave.
    _with_plus: dict[tuple[str, ...], tuple["Tally", dict[int, "CellCount"]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    pieces: dict[Piece, "Tally"] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def size(self) -> int:
        """About its size in memory, in bytes (worked out once, and once per piece: a year's
        pieces hold hundreds of thousands of sums, and an amended tally shares most of them).
        """
        # (with the features its users may keep beside it: ~600 bytes a cell)
        pieces = self.pieces.values() if self.pieces else ()
        return (
            1000 * len(self.counts)
            + 120 * sum(map(len, self.apprehended.values()))
            + sum(p._size_as_piece for p in pieces)
        )

    @cached_property
    def _size_as_piece(self) -> int:
        # A piece's cell ~200 bytes, its dict of nationalities ~250 and ~120 a nationality.
        return (
            200 * len(self.counts)
            + 250 * len(self.apprehended)
            + 120 * sum(map(len, self.apprehended.values()))
        )

    def _cell(
        self, cell: int, row: tuple[int, ...], by: dict[str, int] | None, chosen: Sequence[str]
    ) -> "CellCount | None":
        *by_category, persons = row
        total = sum(by_category)
        if not total:
            return None
        apprehended, top = 0, None
        if by:
            apprehended = sum(by.values())
            # Most persons apprehended; ties to the first code.
            top = max(by, key=by.__getitem__)
            if len(by) > 1 and list(by.values()).count(by[top]) > 1:
                top = min(k for k, n in by.items() if n == by[top])
        categories = {k: n for k, n in zip(chosen, by_category, strict=True) if n}
        return CellCount(cell, total, persons, apprehended, categories, top)

    def cells(self, chosen: Sequence[str], plus: "Tally | None" = None) -> list["CellCount"]:
        """Per cell with incidents, in cell order, as `per_cell` gives them (`chosen`: the
        categories, in the order of the counts), with the sums of `plus` added: only the
        cells whose sums in `plus` differ from those of the `plus` asked with last are worked
        out again (a window moved on by seconds moves a few cells of its edges)."""
        key = tuple(chosen)
        mine = self._cells.get(key)
        if mine is None:
            mine = {}
            for cell in sorted(self.counts):
                counted = self._cell(cell, self.counts[cell], self.apprehended.get(cell), chosen)
                if counted is not None:
                    mine[cell] = counted
            self._cells[key] = mine
        if plus is None or not plus.counts:
            return list(mine.values())
        last = self._with_plus.get(key)
        before, out = (Tally({}, {}), dict(mine)) if last is None else (last[0], dict(last[1]))
        in_order = True
        for cell in before.counts.keys() | plus.counts.keys():
            row, more = plus.counts.get(cell), plus.apprehended.get(cell)
            if last is not None and (row, more) == (
                before.counts.get(cell),
                before.apprehended.get(cell),
            ):
                continue
            counted = mine.get(cell) if row is None else self._with(cell, plus, chosen)
            if counted is None:
                out.pop(cell, None)
            else:
                in_order = in_order and cell in out
                out[cell] = counted
        if not in_order:
            out = dict(sorted(out.items()))
        self._with_plus[key] = (plus, out)
        return list(out.values())

    def _with(self, cell: int, plus: "Tally", chosen: Sequence[str]) -> "CellCount | None":
        """`cell` as its sums and those of `plus` (which holds it) give it."""
        row, more = plus.counts[cell], plus.apprehended.get(cell)
        held = self.counts.get(cell)
        by = self.apprehended.get(cell)
        if more:
            by = dict(by or {})
            for nationality, persons in more.items():
                by[nationality] = by.get(nationality, 0) + persons
        total_row = row if held is None else tuple(map(operator.add, held, row))
        return self._cell(cell, total_row, by, chosen)

    def plus(self, other: "Tally", sign: int = 1) -> "Tally":
        """Its sums with `other`'s added (or, `sign` -1, taken away): a new tally."""
        counts, apprehended = dict(self.counts), dict(self.apprehended)
        _add(counts, apprehended, other, sign)
        return Tally(counts, apprehended)

    def less(self, other: "Tally") -> "Tally":
        """Its sums less `other`'s: what `plus(other, -1)` gives, found by comparing each
        cell's sums before subtracting them (a day read again after an edit holds hundreds
        of cells, one or two of them changed; `plus` suits a small `other`)."""
        counts: dict[int, tuple[int, ...]] = {}
        for cell in self.counts.keys() | other.counts.keys():
            mine, theirs = self.counts.get(cell), other.counts.get(cell)
            if mine != theirs:
                zeros = _zeros(mine or theirs or ())
                counts[cell] = tuple(map(operator.sub, mine or zeros, theirs or zeros))
        apprehended: dict[int, dict[str, int]] = {}
        for cell in self.apprehended.keys() | other.apprehended.keys():
            mine_by, theirs_by = self.apprehended.get(cell, {}), other.apprehended.get(cell, {})
            if mine_by != theirs_by:
                by = {k: mine_by.get(k, 0) - theirs_by.get(k, 0) for k in mine_by | theirs_by}
                apprehended[cell] = {k: n for k, n in by.items() if n}
        return Tally(counts, apprehended)

    def like(self, other: "Tally") -> "Tally":
        """Itself, with what was worked out of `other`'s cells when they hold the same sums."""
        if self.counts == other.counts and self.apprehended == other.apprehended:
            self._cells.update(other._cells)
            self.derived.update(other.derived)
        return self

    def replaced(self, touched: Sequence[Piece], fresh: dict[Piece, "Tally"]) -> "Tally":
        """Its sums with the pieces `touched` replaced by `fresh` (those of them read again
        that hold any sums): only the cells whose sums changed are worked out again."""
        if self.pieces is None:
            raise ValueError("only sums kept with their pieces can be amended")
        counts, apprehended = dict(self.counts), dict(self.apprehended)
        # The cells whose sums the pieces read again changed (an edit moves a cell or two of
        # the hundreds a day holds): those a piece's new sums less its old ones hold.
        changed: set[int] = set()
        none = Tally({}, {})
        for piece in touched:
            delta = fresh.get(piece, none).less(self.pieces.get(piece, none))
            _add(counts, apprehended, delta, 1)
            changed |= delta.counts.keys() | delta.apprehended.keys()
        gone = set(touched)
        pieces = {k: p for k, p in self.pieces.items() if k not in gone}
        amended = Tally(counts, apprehended, derived=self.derived, pieces=pieces | fresh)
        for key, mine in self._cells.items():
            cells = dict(mine)
            for cell in changed:
                row = counts.get(cell)
                counted = row and amended._cell(cell, row, apprehended.get(cell), key)
                if counted:
                    cells[cell] = counted
                else:
                    cells.pop(cell, None)
            in_order = all(cell in mine for cell in changed)
            amended._cells[key] = cells if in_order else dict(sorted(cells.items()))
        # And with the last edges added, the same way.
        for key, (edges, out) in self._with_plus.items():
            cells = dict(out)
            for cell in changed:
                if cell in edges.counts:
                    counted = amended._with(cell, edges, key)
                else:
                    counted = amended._cells.get(key, {}).get(cell)
                if counted:
                    cells[cell] = counted
                else:
                    cells.pop(cell, None)
            in_order = all(cell in out for cell in changed)
            amended._with_plus[key] = (edges, cells if in_order else dict(sorted(cells.items())))
        return amended


def _zeros(row: tuple[int, ...]) -> tuple[int, ...]:
    return (0,) * len(row)


def _add(
    counts: dict[int, tuple[int, ...]],
    apprehended: dict[int, dict[str, int]],
    other: Tally,
    sign: int,
) -> None:
    """`other`'s sums added to `counts` and `apprehended` (or, `sign` -1, taken away), in
    place; a cell whose sums come to nothing is left out (its dict of nationalities is a new
    one: those of a tally are shared)."""
    op = operator.add if sign > 0 else operator.sub
    for cell, row in other.counts.items():
        held = counts.get(cell)
        summed = row if held is None and sign > 0 else tuple(map(op, held or _zeros(row), row))
        if any(summed):
            counts[cell] = summed
        else:
            counts.pop(cell, None)
    for cell, by in other.apprehended.items():
        into = dict(apprehended.get(cell, {}))
        for nationality, persons in by.items():
            into[nationality] = into.get(nationality, 0) + sign * persons
        into = {k: n for k, n in into.items() if n}
        if into:
            apprehended[cell] = into
        else:
            apprehended.pop(cell, None)


async def tally(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    part: Part,
    *,
    pieces: bool = False,
) -> Tally:
    """The sums per cell of `part` of `where`'s window (its whole days and months, from the
    kept counts): two statements side by side. With `pieces` (its whole days and months
    only), those sums per month and day too."""
    if pieces:
        if part != "whole":
            raise ValueError("only a window's whole days and months are kept in pieces")
        counts, times = _reused(
            "tally-counts-pieces",
            where,
            resolution,
            (caller,),
            lambda: _piece_counts(caller, where, resolution),
        )
        nationalities, _ = _reused(
            "tally-nationalities-pieces",
            where,
            resolution,
            (caller,),
            lambda: _piece_nationalities(caller, where, resolution),
        )
        return await _read_pieces(engine, counts, nationalities, times, aside=True)
    counts, times = _reused(
        f"tally-counts-{part}",
        where,
        resolution,
        (caller,),
        lambda: cell_counts(caller, where, resolution, as_json=False, part=part),
    )
    nationalities, _ = _reused(
        f"tally-nationalities-{part}",
        where,
        resolution,
        (caller,),
        lambda: _per_nationality(caller, where, resolution, None, part),
    )
    counted, per_nationality = await asyncio.gather(
        _tuples(engine, counts, times), _tuples(engine, nationalities, times)
    )
    apprehended: dict[int, dict[str, int]] = {}
    for cell, nationality, persons in per_nationality:
        apprehended.setdefault(cell, {})[nationality] = persons
    return Tally(
        {cell: (*by_category, persons) for cell, _, persons, *by_category in counted},
        apprehended,
    )


# More pieces touched than this and a kept sum is read again whole rather than amended.
MOST_PIECES_AMENDED = 16


async def amend(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    kept: Tally,
    moved: Sequence[tuple[date, date]],
) -> Tally:
    """`kept`, the sums of `where`'s whole days and months, after changes that moved the
    kept counts of `moved` days (first and last day each): the months and days they reach
    read again, or all of it when they are many or `kept` holds no pieces."""
    touched = None
    if kept.pieces is not None:
        touched = pieces_touched(split(where.start, where.end), moved, MOST_PIECES_AMENDED)
    if touched is None:
        return await tally(engine, caller, where, resolution, "whole")
    if not touched:
        return kept
    fresh = await _read_pieces(
        engine,
        _piece_counts(caller, where, resolution, touched),
        _piece_nationalities(caller, where, resolution, touched),
    )
    return kept.replaced(touched, fresh.pieces or {})


def _piece_counts(
    caller: Caller, where: IncidentFilter, resolution: int, only: Sequence[Piece] | None = None
) -> Select[Any]:
    """The kept counts of the window's whole months and days, per cell as `tally` reads them,
    after `period` and `start`: per month and day, and (those null) over all of them; or per
    month and day only, of `only` these."""
    h = hex_counts.c
    chosen = list(where.categories) or list(CATEGORIES)
    parts, _ = _pieces(where, resolution, "whole")
    persons = reduce(operator.add, (h[f"p_{k}"] for k in chosen))
    return (
        select(
            h.period,
            h.start,
            h.cell,
            *(func.sum(h[f"n_{k}"]).cast(Integer) for k in chosen),
            func.sum(persons).cast(Integer),
        )
        .where(_kept(hex_counts, caller, where, resolution, parts, only))
        .group_by(*_pieces_and_all(only, h.period, h.start, h.cell))
    )


def _pieces_and_all(only: Sequence[Piece] | None, period: Any, start: Any, *per: Any) -> list[Any]:
    """Grouped per piece (`period`, `start`) and `per`; over all pieces too, unless `only`."""
    if only is not None:
        return [period, start, *per]
    return [func.grouping_sets(tuple_(period, start, *per), tuple_(*per))]


def _piece_nationalities(
    caller: Caller, where: IncidentFilter, resolution: int, only: Sequence[Piece] | None = None
) -> Select[Any]:
    """Persons apprehended per cell and nationality, as `_piece_counts` gives the counts."""
    h = hex_nationalities.c
    chosen = list(where.categories) or list(CATEGORIES)
    parts, _ = _pieces(where, resolution, "whole")
    persons = func.sum(reduce(operator.add, (h[f"a_{k}"] for k in chosen))).cast(Integer)
    return (
        select(h.period, h.start, h.cell, h.nationality, persons)
        .where(_kept(hex_nationalities, caller, where, resolution, parts, only))
        .group_by(*_pieces_and_all(only, h.period, h.start, h.cell, h.nationality))
        .having(persons > 0)
    )


async def _read_pieces(
    engine: AsyncEngine,
    counts: Any,
    nationalities: Any,
    times: dict[str, Any] | None = None,
    *,
    aside: bool = False,
) -> Tally:
    """The sums of `counts` and `nationalities` (their rows per piece, and over all of them
    where `period` and `start` are null): side by side, or (`aside`: made beside the requests
    of the moment) one after the other, with room to group in memory."""
    if aside:
        counted = await _tuples(engine, counts, times, roomy=True)
        per_nationality = await _tuples(engine, nationalities, times, roomy=True)
    else:
        counted, per_nationality = await asyncio.gather(
            _tuples(engine, counts, times), _tuples(engine, nationalities, times)
        )
    # Rows with `period` and `start` null are the sums over all the pieces read.
    whole = Tally({}, {})
    pieces: dict[Any, Tally] = {(None, None): whole}
    for n, (period, start, cell, *row) in enumerate(counted):
        if aside and not n % ASIDE_ROWS:
            await asyncio.sleep(0)  # the requests of the moment first
        if not any(row):
            continue  # no incident of the chosen categories
        piece = pieces.get((period, start)) or pieces.setdefault((period, start), Tally({}, {}))
        piece.counts[cell] = tuple(row)
    for n, (period, start, cell, nationality, persons) in enumerate(per_nationality):
        if aside and not n % ASIDE_ROWS:
            await asyncio.sleep(0)
        piece = pieces.get((period, start)) or pieces.setdefault((period, start), Tally({}, {}))
        piece.apprehended.setdefault(cell, {})[nationality] = persons
    del pieces[(None, None)]
    return replace(whole, pieces=pieces)


def _range_sums(
    caller: Caller, where: IncidentFilter, resolution: int, ranges: Sequence[RawRange]
) -> tuple[Any, Any]:
    """Per range of `ranges` (its index first, `range`) and cell, the counts of the chosen
    categories and the persons involved; and per range, cell and nationality the persons
    apprehended: the sums `tally` gives, of each range apart (read from the incidents)."""
    chosen = list(where.categories) or list(CATEGORIES)
    apart = replace(where, start=None, end=None)
    counts = [
        _raw_counts(caller, apart, resolution, r, i, chosen, literal(i, Integer).label("range"))
        for i, r in enumerate(ranges)
    ]
    raw = union_all(
        *(
            _raw_nationalities(caller, apart, resolution, r, i, literal(i, Integer).label("range"))
            for i, r in enumerate(ranges)
        )
    ).subquery("raw")
    persons = func.sum(raw.c.persons).cast(Integer)
    nationalities = (
        select(raw.c.range, raw.c.cell, raw.c.nationality, persons)
        .group_by(raw.c.range, raw.c.cell, raw.c.nationality)
        .having(persons > 0)
    )
    return union_all(*counts), nationalities


async def tally_ranges(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    ranges: Sequence[RawRange],
) -> list[Tally]:
    """The sums per cell of each of `ranges` (instants of one day or less: the partial days
    of windows, or what a window moved on by) under `where`'s filter but its time, as
    `tally` gives them: two statements side by side, whatever the number of ranges."""
    if not ranges:
        return []
    parts = Split(raw=list(ranges))
    at = ("ranges", replace(where, start=None, end=None), resolution, caller, _time_shape(parts))
    counts, nationalities = _REUSED.get(at, lambda: _range_sums(caller, where, resolution, ranges))
    times = _time_values(parts)
    counted, per_nationality = await asyncio.gather(
        _tuples(engine, counts, times), _tuples(engine, nationalities, times)
    )
    out = [Tally({}, {}) for _ in ranges]
    for i, cell, *row in counted:
        out[i].counts[cell] = tuple(row)
    for i, cell, nationality, persons in per_nationality:
        out[i].apprehended.setdefault(cell, {})[nationality] = persons
    return out


STEPS = {"daily": "1 day", "weekly": "7 days", "monthly": "1 month"}


async def counts_per_step(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    *,
    end: datetime,
    step: str,
    steps: int,
) -> Sequence[Any]:
    """Incidents per cell and step back from `end` (`back` 0 is the step ending at `end`):
    `cell`, `back`, `n`; daily and weekly steps end at `end`, monthly ones are calendar
    months (UTC), the last the month of `end`."""
    c = incidents.c
    cell = c[f"h3_res{resolution}"]
    start: Any
    if step == "monthly":
        months = lambda t: func.extract("year", t) * 12 + func.extract("month", t)  # noqa: E731
        utc_end, utc_t = func.timezone("UTC", literal(end)), func.timezone("UTC", c.occurred_at)
        back = (months(utc_end) - months(utc_t)).cast(Integer)
        start = func.timezone(
            "UTC", func.date_trunc("month", utc_end) - func.make_interval(0, steps - 1)
        )
    else:
        length: Any = literal_column(f"interval '{STEPS[step]}'")
        back = func.floor(
            func.extract("epoch", literal(end) - c.occurred_at) / func.extract("epoch", length)
        ).cast(Integer)
        start = literal(end) - length * steps
    stmt = (
        matching(
            visible_incidents(
                caller, cell.label("cell"), back.label("back"), func.count().label("n")
            ),
            replace(where, start=None, end=None),
        )
        .where(c.occurred_at > start, c.occurred_at <= end)
        .group_by(cell, back)
    )
    return await _all(engine, stmt)
