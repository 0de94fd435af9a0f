"""A time window split into what the kept counts can answer (whole UTC months and days) and
what only the incidents themselves can (the partial days at its edges)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

# [from, to) of dates; None: open on that side.
DateRange = tuple[date | None, date | None]


@dataclass(frozen=True)
class RawRange:
    """Instants from `start` (inclusive; None: open) to `end` (inclusive or not)."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool


@dataclass(frozen=True)
class Split:
    months: list[DateRange] = field(default_factory=list)
    days: list[DateRange] = field(default_factory=list)
    raw: list[RawRange] = field(default_factory=list)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=UTC)


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def split(start: datetime | None, end: datetime | None) -> Split:
    """`start` ≤ t ≤ `end` (either open) as whole months, whole days and raw edges."""
    start = start.astimezone(UTC) if start else None
    end = end.astimezone(UTC) if end else None
    raw: list[RawRange] = []
    # Whole days: [first_day, end_day).
    first_day = None
    if start is not None:
        first_day = (
            start.date() if start == _midnight(start.date()) else start.date() + (timedelta(days=1))
        )
    end_day = end.date() if end is not None else None
    if first_day is not None and end_day is not None and first_day >= end_day:
        return Split(raw=[RawRange(start, end, True)])
    if start is not None and first_day is not None and start < _midnight(first_day):
        raw.append(RawRange(start, _midnight(first_day), False))
    if end is not None and end_day is not None:
        raw.append(RawRange(_midnight(end_day), end, True))
    # Whole months inside the whole days: [first_month, end_month).
    first_month = None
    if first_day is not None:
        first_month = first_day if first_day.day == 1 else _next_month(first_day)
    end_month = _month(end_day) if end_day is not None else None
    if first_month is not None and end_month is not None and first_month >= end_month:
        return Split(days=[(first_day, end_day)], raw=raw)
    days: list[DateRange] = []
    if first_day is not None and first_month is not None and first_day < first_month:
        days.append((first_day, first_month))
    if end_month is not None and end_day is not None and end_month < end_day:
        days.append((end_month, end_day))
    return Split(months=[(first_month, end_month)], days=days, raw=raw)


def whole_span(parts: Split) -> DateRange:
    """[from, to) of the days its whole months and days cover (None: open on that side)."""
    ranges = parts.months + parts.days
    starts, ends = [r[0] for r in ranges], [r[1] for r in ranges]
    return (
        None if None in starts else min(d for d in starts if d is not None),
        None if None in ends else max(d for d in ends if d is not None),
    )


# A piece of a window's whole days and months: a month ("m", its first day) or a day ("d").
Piece = tuple[str, date]


def pieces_touched(
    parts: Split, moved: Sequence[tuple[date, date]], most: int
) -> list[Piece] | None:
    """The months and days of `parts` (its whole ones) that reach into any of `moved` (first
    and last day each), in order; None when more than `most`."""
    out: set[Piece] = set()
    for first, last in moved:
        for period, ranges, start_of, after in (
            ("m", parts.months, _month, _next_month),
            ("d", parts.days, lambda d: d, lambda d: d + timedelta(days=1)),
        ):
            for lo, hi in ranges:
                at = start_of(max(first, lo) if lo is not None else first)
                stop = min(last, hi - timedelta(days=1)) if hi is not None else last
                while at <= stop:
                    out.add((period, at))
                    if len(out) > most:
                        return None
                    at = after(at)
    return sorted(out)
