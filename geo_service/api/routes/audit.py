"""/api/v1/audit: the audit trail, newest first, for administrators (their agency's)."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from geo_service import domain
from geo_service.api.deps import AdminDep, Engine
from geo_service.services import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="The audit trail: who did what, when and from where")
async def entries(
    engine: Engine,
    caller: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=domain.MAX_ID, description="entries older than this id")
    ] = None,
) -> Response:
    found = await audit.entries(engine, caller, limit, before)
    return Response(orjson.dumps({"entries": found}), media_type="application/json")
