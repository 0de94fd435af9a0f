"""The incident-hexes layer: incidents per H3 hexagon, as GeoJSON polygons."""

from typing import Any

import h3
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.h3cells import cell_hex
from geo_service.services.errors import FieldError, InvalidInput
from geo_service.services.incidents import Page
from geo_service.store import hexes
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

RESOLUTIONS = range(5, 10)
DEFAULT_RESOLUTION = 7


def hexagon(cell: str) -> dict[str, Any]:
    """A cell's hexagon as a GeoJSON Polygon (longitude, latitude; closed ring)."""
    ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def hex_page(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int | None,
    *,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of hexagons with incidents, in cell order."""
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    if resolution not in RESOLUTIONS:
        raise InvalidInput(errors=[FieldError("resolution", "must be between 5 and 9")])
    try:
        after = h3.str_to_int(cursor) if cursor else None
    except (ValueError, h3.H3BaseException) as exc:
        raise InvalidInput(errors=[FieldError("cursor", "is not a cursor of this layer")]) from exc
    async with engine.connect() as conn:
        rows = await hexes.per_cell(conn, caller, where, resolution, limit=limit + 1, after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    features = []
    for r in rows:
        cell = cell_hex(r.cell)
        features.append(
            {
                "type": "Feature",
                "id": cell,
                "geometry": hexagon(cell),
                "properties": {
                    "h3": cell,
                    "resolution": resolution,
                    "incidents": r.incidents,
                    "persons_involved": int(r.persons_involved),
                    "persons_apprehended": int(r.persons_apprehended),
                    "by_category": r.by_category,
                    "top_nationality": r.top_nationality,
                },
            }
        )
    return Page(features, cell_hex(rows[-1].cell) if more else None)
