"""Who sees what, route by route: every agency × role × sharing level over every read route
(incidents, layer items, tiles, hexagons, hot spots, exports, the live stream's reads) sees
and counts exactly its own incidents and what partners shared with the PCC — once through
the visibility filter and row-level security together, once with the filter bypassed on
purpose, through row-level security alone."""

import mapbox_vector_tile
import orjson
import pytest
from sqlalchemy import true

from geo_service.services import stream
from geo_service.store import hexes as store_hexes
from geo_service.store import visibility
from geo_service.store.visibility import Caller, acting_as
from tests.credentials import api_key, bearer
from tests.factories import feature

OWNERS = ("BIH_BP", "SRB_BP", "MNE_BP")
CALLERS = ("BIH_BP", "SRB_BP", "MNE_BP", "PCC")
ROLES = ("viewer", "analyst")
TILE = "/ogc/collections/incidents/tiles/WebMercatorQuad/9/283/185"  # Zvornik


def expected(agency: str, seeded: dict[str, tuple[str, str]]) -> set[int]:
    return {i for i, (owner, sharing) in seeded.items() if owner == agency or sharing == "pcc"}


@pytest.fixture
async def world(client, db):
    """Two incidents of each owning agency and sharing level near Zvornik (each reported by
    an officer of its agency), and an API key for each calling agency and role."""
    seeded: dict[int, tuple[str, str]] = {}
    n = 0
    for owner in OWNERS:
        for sharing in ("national", "pcc"):
            for _ in range(2):
                n += 1
                body = feature(f"M-{n}", agency=owner, sharing=sharing,
                               coordinates=[19.10 + n * 0.002, 44.30 + n * 0.005])  # fmt: skip
                response = await client.post("/api/v1/incidents", json=body, headers=bearer(owner))
                assert response.status_code == 201, response.text
                seeded[response.json()["id"]] = (owner, sharing)
    keys = {(agency, role): api_key(agency, role) for agency in CALLERS for role in ROLES}
    return seeded, keys


@pytest.fixture(params=["filter and row-level security", "row-level security alone"])
def guard(request, monkeypatch):
    if request.param == "row-level security alone":
        monkeypatch.setattr(visibility, "shared_with", lambda *args: true())
        monkeypatch.setattr(store_hexes, "shared_with", lambda *args: true())
    return request.param


@pytest.mark.parametrize("agency", CALLERS)
@pytest.mark.parametrize("role", ROLES)
async def test_each_route_shows_and_counts_exactly_what_the_caller_may_see(
    client, db, world, guard, agency, role
):
    seeded, keys = world
    want = expected(agency, seeded)
    auth = {"Authorization": f"Bearer {keys[agency, role]}"}

    listed = await client.get("/api/v1/incidents?limit=100", headers=auth)
    exported = await client.get("/api/v1/exports?format=csv", headers=auth)
    if role == "viewer":
        assert listed.status_code == exported.status_code == 403
    else:
        assert {f["id"] for f in listed.json()["features"]} == want
        assert exported.status_code == 200
        assert int(exported.headers["x-matched"]) == len(want)
        assert exported.text.count("\n") == len(want) + 1  # the header line

    items = await client.get("/ogc/collections/incidents/items?limit=100", headers=auth)
    assert {f["id"] for f in items.json()["features"]} == want

    tile = await client.get(TILE, headers=auth)
    assert tile.status_code == 200
    layers = mapbox_vector_tile.decode(tile.content) if tile.content else {}
    points = [f for layer in layers.values() for f in layer["features"]]
    assert sorted(f["id"] for f in points) == sorted(want)

    hexes = await client.get(
        "/ogc/collections/incident-hexes/items?resolution=7&limit=10000", headers=auth
    )
    assert sum(f["properties"]["incidents"] for f in hexes.json()["features"]) == len(want)

    spots = await client.get(
        "/ogc/collections/hotspots/items?resolution=7&limit=10000", headers=auth
    )
    assert spots.status_code == 200, spots.text
    assert sum(f["properties"]["incidents"] for f in spots.json()["features"]) == len(want)

    # The live stream reads a notice's incidents for each kind of caller.
    caller = Caller(agency, role)
    notice = {"table": "incidents", "op": "INSERT", "ids": sorted(seeded), "count": None}
    with acting_as(caller):
        events = await stream.events(db, caller, notice)
    assert {orjson.loads(data)["id"] for kind, data in events if kind == "incident"} == want
