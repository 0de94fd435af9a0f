"""/api/v1/exports: a selection of incidents (the layers' filters) as GeoJSON, CSV or
GeoPackage, sent in pieces as it is read."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from geo_service.api.deps import AnalystDep, Filter, ReadEngine, SettingsDep, TrailDep
from geo_service.services import exports as service

router = APIRouter(prefix="/api/v1", tags=["Exports"])


@router.get(
    "/exports",
    summary="Export a selection of incidents (GeoJSON, CSV, GeoPackage)",
    description="The incidents the filters select that the caller may see, oldest first. "
    "CSV is UTF-8 with a byte-order mark, one row per incident, times in ISO 8601 UTC, the "
    "apprehended persons summed and listed by nationality. A selection over the export limit "
    "is refused (422) before anything is sent. `X-Matched` tells how many incidents the "
    "export holds.",
    responses={
        200: {
            "content": {
                "application/geo+json": {},
                "text/csv": {},
                "application/geopackage+sqlite3": {},
            }
        }
    },
)
async def export(
    request: Request,
    engine: ReadEngine,
    caller: AnalystDep,
    settings: SettingsDep,
    where: Filter,
    trail: TrailDep,
    format: Annotated[str, Query(description="geojson, csv or gpkg")] = "geojson",
) -> StreamingResponse:
    made = await service.export(engine, caller, where, format, settings)
    detail = {"format": format, "query": request.url.query, "matched": made.matched}
    await trail.add("export", None, detail)
    headers = {
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "X-Matched": str(made.matched),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(made.pieces, media_type=made.media_type, headers=headers)
