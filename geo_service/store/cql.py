"""CQL2 text filters on incidents (OGC API Features Part 3): parsed by pygeofilter and
translated to SQLAlchemy over the incidents' columns named here, no others, and no function
calls (a filter cannot name a database function). Comparison, logical, LIKE, BETWEEN, IN,
IS NULL, temporal and spatial predicates are what pygeofilter's SQLAlchemy back end makes of
them; the visibility filter applies beneath as to every other read."""

import functools
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from pygeofilter import ast
from pygeofilter.backends.sqlalchemy import to_filter
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import ColumnElement

from geo_service.store.models import incidents

_c = incidents.c
# Each queryable property: its column and its JSON Schema (the queryables resource).
QUERYABLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "geometry": (_c.geom, {"format": "geometry-point"}),
    "category": (_c.category, {"type": "string"}),
    "agency": (_c.agency, {"type": "string"}),
    "sharing": (_c.sharing, {"type": "string", "enum": ["national", "pcc"]}),
    "status": (_c.status, {"type": "string"}),
    "impact": (_c.impact, {"type": "string"}),
    "direction": (_c.direction, {"type": "string"}),
    "detection": (_c.detection, {"type": "string"}),
    "means": (_c.means, {"type": "string"}),
    "attempted": (_c.attempted, {"type": "boolean"}),
    "occurred_at": (_c.occurred_at, {"type": "string", "format": "date-time"}),
    "persons_involved": (_c.persons_involved, {"type": "integer"}),
    "location_accuracy_m": (_c.location_accuracy_m, {"type": "number"}),
    "country": (_c.country, {"type": "string"}),
    "border_pair": (_c.border_pair, {"type": "string"}),
    "border_section": (_c.border_section, {"type": "string"}),
    "crossing_point": (_c.crossing_point, {"type": "string"}),
    "distance_to_border_m": (_c.distance_to_border_m, {"type": "number"}),
}
_COLUMNS = {name: column for name, (column, _) in QUERYABLES.items()}


class CqlError(ValueError):
    """A filter that is not CQL2 text, or names what cannot be filtered on."""


# The kinds of value each JSON Schema type of a queryable compares with.
_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "date-time": (datetime, date),
}
_COMPARING = (ast.Comparison, ast.Between, ast.In, ast.Like, ast.TemporalPredicate)
_SPATIAL = (ast.SpatialComparisonPredicate, ast.SpatialDistancePredicate, ast.Relate, ast.BBox)


def _kind(name: str) -> str:
    schema = QUERYABLES[name][1]
    return str(schema["format"] if "format" in schema else schema["type"])


def _operands(node: Any) -> list[Any]:
    if isinstance(node, ast.Between):
        return [node.lhs, node.low, node.high]
    if isinstance(node, ast.In):
        return [node.lhs, *node.sub_nodes]
    if isinstance(node, ast.Like):
        return [node.lhs, node.pattern]
    return [node.lhs, node.rhs]


def _check_types(node: Any) -> None:
    """Each comparison between a queryable and values of its kind, each spatial predicate on
    the geometry: what PostgreSQL would otherwise refuse with an error, refused here."""
    if isinstance(node, ast.Arithmetic):
        raise CqlError("arithmetic is not supported")
    if isinstance(node, _SPATIAL):
        if not (isinstance(node.lhs, ast.Attribute) and node.lhs.name == "geometry"):
            raise CqlError("spatial predicates apply to `geometry`")
        return
    if not isinstance(node, _COMPARING):
        return
    operands = _operands(node)
    names = [o.name for o in operands if isinstance(o, ast.Attribute)]
    kinds = {_kind(n) for n in names}
    if "geometry-point" in kinds or len(kinds) > 1:
        raise CqlError(f"{' and '.join(names)} cannot be compared so")
    for kind in kinds:
        for value in operands:
            if isinstance(value, ast.Attribute):
                continue
            # bool is an int in Python: neither counts as the other here.
            is_bool = isinstance(value, bool)
            if not isinstance(value, _KINDS[kind]) or is_bool != (kind == "boolean"):
                raise CqlError(f"{names[0]} compares with {kind} values, not {value!r}")


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, ast.Node):
        for sub in node.get_sub_nodes():
            yield from _nodes(sub)


@functools.lru_cache(maxsize=256)
def check(text: str) -> Any:
    """The parsed filter; CqlError saying what is wrong with it. Kept by text: a request's
    filter is checked when it arrives and translated for each of its statements."""
    try:
        parsed = parse_text(text)
    except Exception as exc:  # lark's errors, and pygeofilter's own
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CqlError(f"not CQL2 text: {first}") from None
    for node in _nodes(parsed):
        if isinstance(node, ast.Function):
            raise CqlError(f"functions are not supported ({node.name})")
        if isinstance(node, ast.Attribute) and node.name not in QUERYABLES:
            raise CqlError(f"{node.name!r} is not a queryable; these are: {', '.join(QUERYABLES)}")
    for node in _nodes(parsed):
        _check_types(node)
    return parsed


def clause(text: str) -> ColumnElement[bool]:
    """The SQL condition of a filter (checked first)."""
    return to_filter(check(text), _COLUMNS, undefined_as_null=False)
