"""Vector tiles: what each holds (checked against the raw points), aggregation instead of
truncation, conditional requests, TileJSON, and refused tile requests."""

import asyncio
from collections import Counter

import h3
import httpx
import mapbox_vector_tile
import numpy as np
import pytest
from sqlalchemy import text

from geo_service.geo.tiles import Tile
from geo_service.services import bulk_import, synthetic
from geo_service.services import tiles as tile_service
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import feature, seen_by

ZVORNIK_Z9 = Tile(9, 283, 185)  # the Drina at Zvornik and Mali Zvornik
MVT = "application/vnd.mapbox-vector-tile"


def url(layer: str, tile: Tile, query: str = "") -> str:
    path = f"/ogc/collections/{layer}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
    return f"{path}?{query}" if query else path


def decoded(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    layers = mapbox_vector_tile.decode(response.content) if response.content else {}
    return [f for layer in layers.values() for f in layer["features"]]


def inside(frame, tile: Tile, margin: float = 0.0):
    west, south, east, north = tile.bounds()
    dx, dy = (east - west) * margin, (north - south) * margin
    x, y = frame.geometry.x, frame.geometry.y
    return frame[(x > west - dx) & (x < east + dx) & (y > south - dy) & (y < north + dy)]


@pytest.fixture
async def points(db, geography):
    frame = synthetic.incidents(geography, 3_000, seed=5)
    table = Table.of_points(frame)
    report = await bulk_import.import_table(db, SERVICE, geography, table)
    assert report.created == 3_000
    return seen_by(frame)  # what the client's caller may see of them


async def incident_refs(db, ids) -> set[str]:
    """The references of the stored incidents of `ids` (a tile's feature ids)."""
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT id, external_ref FROM incidents WHERE id = ANY(:ids)"), {"ids": ids}
        )
        refs = {i: ref for i, ref in found}
    assert set(refs) == set(ids)  # every feature is a stored incident
    return set(refs.values())


@pytest.mark.parametrize("tile", [ZVORNIK_Z9, Tile(9, 283, 186), Tile(9, 283, 184)])
async def test_an_incident_tile_holds_the_points_in_it(client, db, points, tile):
    # Three neighbours in one test: the statement of point tiles is made once and reused
    # with each tile's own z, x, y.
    for other in (ZVORNIK_Z9, tile):
        features = decoded(await client.get(url("incidents", other)))
        held = await incident_refs(db, [f["id"] for f in features])
        surely_in = set(inside(points, other, margin=-0.001)["external_ref"])
        at_most = set(inside(points, other, margin=64 / 4096 + 0.001)["external_ref"])
        assert surely_in and surely_in <= held <= at_most, other
    features = decoded(await client.get(url("incidents", ZVORNIK_Z9)))
    props = features[0]["properties"]
    assert {"category", "occurred_at", "agency"} <= set(props) and "narrative" not in props
    assert props["occurred_at"].endswith("Z")


async def test_filters_apply_to_incident_tiles(client, points):
    features = decoded(await client.get(url("incidents", ZVORNIK_Z9, "category=drug_smuggling")))
    assert features and {f["properties"]["category"] for f in features} == {"drug_smuggling"}


async def test_a_crowded_tile_counts_per_hexagon_instead_of_cutting(client, points, monkeypatch):
    monkeypatch.setattr(tile_service, "MAX_POINTS_PER_TILE", 100)
    response = await client.get(url("incidents", ZVORNIK_Z9))
    features = decoded(response)
    res = int(response.headers["tile-aggregated"].split("=")[1])
    assert features and all(f["properties"]["aggregated"] for f in features)
    recount = Counter(
        h3.latlng_to_cell(y, x, res)
        for x, y in zip(points.geometry.x, points.geometry.y, strict=True)
    )
    # Each cluster holds exactly its cell's incidents, drawn at the cell's centre.
    for f in features:
        assert f["properties"]["incidents"] == recount[f["properties"]["h3"]]
    west, south, east, north = ZVORNIK_Z9.bounds()
    centred_inside = {
        cell
        for cell in recount
        if west < h3.cell_to_latlng(cell)[1] < east and south < h3.cell_to_latlng(cell)[0] < north
    }
    assert centred_inside <= {f["properties"]["h3"] for f in features}
    assert len(inside(points, ZVORNIK_Z9, margin=-0.001)) > 100
    sparse = decoded(await client.get(url("incidents", ZVORNIK_Z9, "category=crisis")))
    assert sparse and not any(f["properties"].get("aggregated") for f in sparse)


@pytest.mark.parametrize("resolution", [None, 7])
async def test_hexagon_tiles_count_every_cell_exactly(client, points, resolution):
    query = f"resolution={resolution}" if resolution else ""
    features = decoded(await client.get(url("incident-hexes", ZVORNIK_Z9, query)))
    res = resolution or 6  # the resolution drawn at zoom 9
    recount = Counter(
        h3.latlng_to_cell(y, x, res)
        for x, y in zip(points.geometry.x, points.geometry.y, strict=True)
    )
    assert features
    for f in features:
        props = f["properties"]
        assert props["resolution"] == res
        assert props["incidents"] == recount[props["h3"]]
    near = inside(points, ZVORNIK_Z9, margin=-0.001)
    cells_near = {
        h3.latlng_to_cell(y, x, res) for x, y in zip(near.geometry.x, near.geometry.y, strict=True)
    }
    assert cells_near <= {f["properties"]["h3"] for f in features}


async def test_a_reference_tile_holds_the_sections_there(client):
    features = decoded(await client.get(url("border-sections", ZVORNIK_Z9)))
    assert {f["properties"]["border_id"] for f in features} == {"BIH-SRB"}
    response = await client.get(url("border-sections", ZVORNIK_Z9))
    assert response.headers["cache-control"].startswith("public")


async def test_unchanged_tiles_are_304_and_changed_ones_are_not(client, points):
    first = await client.get(url("incidents", ZVORNIK_Z9))
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = await client.get(url("incidents", ZVORNIK_Z9), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = await client.get(url("incidents", ZVORNIK_Z9), headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    west, south, east, north = ZVORNIK_Z9.bounds()
    centre = [float(np.mean([west, east])), float(np.mean([south, north]))]
    created = await client.post("/api/v1/incidents", json=feature("NEW-1", coordinates=centre))
    assert created.status_code == 201
    # Tiles kept in memory are renewed by the database's notice of the change (at commit).
    for _ in range(40):
        changed = await client.get(url("incidents", ZVORNIK_Z9), headers={"If-None-Match": etag})
        if changed.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_kept_tiles_are_reused_until_the_incidents_change(
    client, points, app, monkeypatch, caught_up
):
    await caught_up()  # the notice of the points' import has arrived: nothing changes now
    made = []
    real = tile_service._make

    async def counted(*args, **kwargs):
        made.append(args[-2])
        return await real(*args, **kwargs)

    monkeypatch.setattr(tile_service, "_make", counted)
    first = await client.get(url("incident-hexes", ZVORNIK_Z9))
    again = await client.get(url("incident-hexes", ZVORNIK_Z9))
    assert first.content == again.content and len(made) == 1
    other = await client.get(url("incident-hexes", ZVORNIK_Z9, "category=crisis"))
    assert other.content != first.content and len(made) == 2
    # A change made by another connection, as another process would make it.
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE incidents SET category = 'crisis' WHERE category <> 'crisis'")
        )
    for _ in range(40):
        now = await client.get(url("incident-hexes", ZVORNIK_Z9))
        if now.content != first.content:
            break
        await asyncio.sleep(0.05)
    assert now.content != first.content and len(made) >= 3
    # Not listening (the database gone): nothing is reused.
    monkeypatch.setattr(app.state.changes, "listening", False)
    before = len(made)
    await client.get(url("incident-hexes", ZVORNIK_Z9))
    await client.get(url("incident-hexes", ZVORNIK_Z9))
    assert len(made) == before + 2


async def test_tilejson_describes_the_tiles_with_the_filters(client):
    body = (
        await client.get(
            "/ogc/collections/incident-hexes/tiles/WebMercatorQuad/tilejson.json"
            "?category=drug_smuggling"
        )
    ).json()
    assert body["tilejson"] == "3.0.0" and body["vector_layers"][0]["id"] == "incident-hexes"
    template = body["tiles"][0]
    assert template.endswith("/WebMercatorQuad/{z}/{x}/{y}?category=drug_smuggling")
    west, south, east, north = body["bounds"]
    assert west < 19.1 < east and south < 44.4 < north
    sets = (await client.get("/ogc/collections/incidents/tiles")).json()["tilesets"]
    assert sets[0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    links = (await client.get("/ogc/collections/incidents")).json()["links"]
    assert any(link["rel"].endswith("tilesets-vector") for link in links)


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("incidents/tiles/WebMercatorQuad/23/0/0", 400, "z"),
        ("incidents/tiles/WebMercatorQuad/3/8/0", 400, "x"),
        ("incidents/tiles/WebMercatorQuad/3/0/-1", 400, "y"),
        ("incidents/tiles/WebMercatorQuad/a/0/0", 400, "z"),
        ("incident-hexes/tiles/WebMercatorQuad/9/283/185?resolution=4", 400, "resolution"),
        ("incidents/tiles/WebMercatorQuad/9/283/185?category=fishing", 400, "category"),
        ("incidents/tiles/WebMercatorQuad/9/283/185?agency=XXX_BP", 400, "agency"),
        (
            "incidents/tiles/WebMercatorQuad/9/283/185?datetime=2026-02-01T00:00:00Z/2026-01-01T00:00:00Z",
            400,
            "datetime",
        ),
    ],
)
async def test_bad_tile_requests_are_problems_naming_the_parameter(client, path, status, field):
    response = await client.get(f"/ogc/collections/{path}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"].split(".")[-1] for e in response.json()["errors"]]


async def test_a_resolution_too_fine_for_the_tile_is_refused_not_drawn(client):
    # The whole region at resolution 9 would be some three million hexagons in one tile.
    response = await client.get(url("incident-hexes", Tile(5, 17, 11), "resolution=9"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "resolution"
    coarse = await client.get(url("incident-hexes", Tile(5, 17, 11), "resolution=5"))
    assert coarse.status_code == 200


async def test_an_unknown_collection_has_no_tiles(client):
    response = await client.get(url("nowhere", ZVORNIK_Z9))
    assert response.status_code == 404


async def test_a_tile_one_process_made_serves_the_others_until_the_data_change(
    points, db, settings, tmp_path, monkeypatch
):
    """Two processes of one service (two apps here) share the tiles they make through files
    named after the database snapshot: the second is served the first's tile without making
    it, and after a change it makes its own (services.shared_results)."""
    from geo_service.api.app import create_app
    from tests.conftest import RequestTransport
    from tests.credentials import bearer

    made: list[object] = []
    real_make = tile_service._make

    async def counted(*args, **kwargs):
        made.append(args[0])
        return await real_make(*args, **kwargs)

    monkeypatch.setattr(tile_service, "_make", counted)
    shared = settings.model_copy(update={"shared_results_dir": str(tmp_path)})
    first, second = create_app(shared), create_app(shared)

    async def caught_up(*apps) -> None:
        queues = [a.state.changes.subscribe() for a in apps]
        async with db.begin() as conn:
            await conn.execute(text("SELECT pg_notify('geo_service_changes', 'caught-up')"))
        for q in queues:
            while (await asyncio.wait_for(q.get(), 5))["op"] != "caught-up":
                pass

    async def current_snapshot() -> str:
        async with db.connect() as conn:
            return (await conn.execute(text("SELECT pg_current_snapshot()::text"))).scalar_one()

    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        clients = [
            httpx.AsyncClient(
                transport=RequestTransport(app=a), base_url="http://t", headers=bearer()
            )
            for a in (first, second)
        ]
        # Each process proves the key once (noting its use: a transaction, which moves the
        # snapshot on), then both read the same, quiet snapshot.
        for c in clients:
            assert (await c.get("/api/v1/incidents?limit=1")).status_code == 200
        # Asked again (another tile key) when a transaction of the cluster's own (autovacuum)
        # moved the snapshot on between the two requests.
        for attempt in range(5):
            await asyncio.sleep(1.2)
            path = url("incidents", ZVORNIK_Z9, f"datetime=../2100-01-{attempt + 1:02d}T00:00:00Z")
            quiet, made_before = await current_snapshot(), len(made)
            one = await clients[0].get(path)
            two = await clients[1].get(path)
            if await current_snapshot() == quiet:
                break
        assert decoded(one) and two.status_code == 200
        assert two.content == one.content and len(made) == made_before + 1  # filed, not made
        async with db.begin() as conn:
            await conn.execute(text("UPDATE incidents SET persons_involved = persons_involved + 1"))
        await caught_up(first, second)
        again = await clients[1].get(path)
        assert again.status_code == 200 and len(made) == made_before + 2  # made anew
        assert again.content != one.content
        for c in clients:
            await c.aclose()
