"""The features of any catalog layer: incidents through the incidents' own query path,
reference layers straight from their tables."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.domain import MAX_ID
from geo_service.geo.reference import Geography
from geo_service.services import hotspots, impact, incidents
from geo_service.services.errors import NotFound, ServiceError
from geo_service.services.hexes import hex_page
from geo_service.services.layer_catalog import Layer
from geo_service.services.result_cache import ResultCache, kept
from geo_service.settings import Settings
from geo_service.store import reference_features
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller


class NotServedYet(ServiceError):
    status = 501
    title = "Not implemented"


def _feature(layer: Layer, row: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": row.fid,
        "geometry": orjson.loads(row.geometry),
        "properties": {p: getattr(row, p) for p in layer.properties},
    }


async def items(
    engine: AsyncEngine,
    caller: Caller,
    layer: Layer,
    where: IncidentFilter,
    *,
    limit: int,
    cursor: str | None,
    resolution: int | None = None,
    geo: Geography | None = None,
    corridor: bool = False,
    include_empty: bool = False,
    step: str = "weekly",
    steps: int = 12,
    cache: ResultCache | None = None,
    settings: Settings | None = None,
) -> incidents.Page:
    """One page of a layer's features and the cursor of the next (aggregates from `cache`
    when nothing changed since they were kept there)."""
    by = layer.source.get("by")
    if by in ("gi-star", "emerging"):
        assert geo is not None, "hot spots need the reference geography"
        if by == "gi-star":
            return await hotspots.hotspot_page(
                engine, caller, geo, where, resolution, limit=limit, cursor=cursor, cache=cache
            )
        return await hotspots.emerging_page(
            engine,
            caller,
            geo,
            where,
            resolution,
            step=step,
            steps=steps,
            limit=limit,
            cursor=cursor,
            cache=cache,
        )
    if layer.source.get("aggregate") == "incidents":
        assert geo is not None, "the hexagon layer needs the reference geography"
        return await hex_page(
            engine,
            caller,
            geo,
            where,
            resolution,
            limit=limit,
            cursor=cursor,
            corridor=corridor,
            include_empty=include_empty,
            cache=cache,
        )
    if layer.table == "incidents":
        hidden = layer.hidden_properties(caller.role)
        return await incidents.list_features(
            engine, caller, where, limit=limit, cursor=cursor, hidden=hidden, cache=cache
        )
    if layer.table is None:
        raise NotServedYet(f"the features of {layer.id!r} are not served yet")
    async with engine.connect() as conn:
        rows = await reference_features.read_page(
            conn,
            layer.table,
            list(layer.properties),
            bbox=where.bbox,
            limit=limit + 1,
            after=cursor,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    features = [_feature(layer, r) for r in rows]
    await _add_computed(engine, caller, geo, settings, layer, features, cache)
    return incidents.Page(features, str(rows[-1].fid) if more else None)


async def computed_values(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography | None,
    settings: Settings | None,
    layer: Layer,
    cache: ResultCache | None = None,
) -> dict[str, dict[str, Any]]:
    """The computed properties of `layer`'s features, by feature id (from `cache` while the
    incidents are unchanged: every page and tile of the layer needs the same ones)."""
    if not layer.computed:
        return {}
    assert geo is not None and settings is not None, "impact levels need geography, settings"

    async def make() -> dict[str, dict[str, Any]]:
        levels = await impact.section_levels(engine, caller, geo, settings)
        return {
            sid: {"impact_level": s.level, "impact_computed": s.computed}
            for sid, s in levels.items()
        }

    return await kept(cache, ("computed", layer.id, caller), make, lambda v: 200 * len(v))


async def _add_computed(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography | None,
    settings: Settings | None,
    layer: Layer,
    features: list[dict[str, Any]],
    cache: ResultCache | None = None,
) -> None:
    values = await computed_values(engine, caller, geo, settings, layer, cache)
    for f in features:
        f["properties"].update(
            {k: v for k, v in values.get(str(f["id"]), {}).items() if k in layer.computed}
        )


async def item(
    engine: AsyncEngine,
    caller: Caller,
    layer: Layer,
    feature_id: str,
    geo: Geography | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """One feature of a layer by its id."""
    if layer.table == "incidents":
        if not (feature_id.isascii() and feature_id.isdigit() and int(feature_id) <= MAX_ID):
            raise NotFound(f"no incident {feature_id!r}")
        feature = await incidents.get_feature(engine, caller, int(feature_id))
        for name in layer.hidden_properties(caller.role):
            feature["properties"].pop(name, None)
        return feature
    if layer.source.get("aggregate"):
        # Cells of a hexagon or hot-spot layer exist only as computed for one request.
        raise NotFound(f"the features of {layer.id!r} are aggregates: none has an id to look up")
    if layer.table is None:
        raise NotServedYet(f"the features of {layer.id!r} are not served yet")
    async with engine.connect() as conn:
        rows = await reference_features.read_page(
            conn, layer.table, list(layer.properties), bbox=None, limit=1, key=feature_id
        )
    if not rows:
        raise NotFound(f"no feature {feature_id!r} in {layer.id!r}")
    feature = _feature(layer, rows[0])
    await _add_computed(engine, caller, geo, settings, layer, [feature])
    return feature
