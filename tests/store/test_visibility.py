"""The one visibility filter: national records stay with their agency, shared ones reach
every partner, deleted ones reach nobody — in lists, single reads, look-ups and tiles."""

import mapbox_vector_tile
from sqlalchemy import text

from geo_service.geo.tiles import Tile
from geo_service.services.layer_catalog import load_catalog
from geo_service.services.tiles import vector_tile
from geo_service.store import incidents as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import SERVICE, Caller
from tests.credentials import bearer, officer_of
from tests.factories import feature

URL = "/api/v1/incidents"


async def seed(client) -> dict[str, int]:
    ids = {}
    for ref, agency, sharing, xy in [
        ("BIH-NAT", "BIH_BP", "national", [19.10, 44.39]),
        ("BIH-PCC", "BIH_BP", "pcc", [19.10, 44.40]),
        ("SRB-NAT", "SRB_BP", "national", [19.13, 44.38]),
        ("SRB-GONE", "SRB_BP", "pcc", [19.13, 44.37]),
    ]:
        body = feature(ref, agency=agency, sharing=sharing, coordinates=xy)
        response = await client.post(URL, json=body, headers=officer_of(body))
        assert response.status_code == 201, response.text
        ids[ref] = response.json()["properties"]["id"]
    gone = await client.delete(f"{URL}/{ids['SRB-GONE']}", headers=bearer("SRB_BP"))
    assert gone.status_code == 204
    return ids


async def visible_refs(db, caller: Caller) -> set[str]:
    async with db.connect() as conn:
        rows = await store.list_incidents(conn, caller, IncidentFilter(), limit=100)
    return {r.external_ref for r in rows}


async def test_each_agency_sees_its_own_and_what_partners_shared(client, db):
    ids = await seed(client)
    assert await visible_refs(db, Caller("BIH_BP", "analyst")) == {"BIH-NAT", "BIH-PCC"}
    assert await visible_refs(db, Caller("SRB_BP", "analyst")) == {"SRB-NAT", "BIH-PCC"}
    assert await visible_refs(db, Caller("MNE_BP", "analyst")) == {"BIH-PCC"}
    assert await visible_refs(db, SERVICE) == {"BIH-NAT", "BIH-PCC", "SRB-NAT"}
    async with db.connect() as conn:
        assert await store.fetch_incident(conn, Caller("SRB_BP"), ids["BIH-NAT"]) is None
        assert await store.fetch_incident(conn, Caller("BIH_BP"), ids["BIH-NAT"]) is not None
        assert await store.fetch_incident(conn, SERVICE, ids["SRB-GONE"]) is None
        assert await store.find_by_reference(conn, Caller("MNE_BP"), "SRB_BP", "SRB-NAT") is None
        known = await store.existing_references(
            conn, Caller("MNE_BP"), ["BIH_BP", "BIH_BP"], ["BIH-NAT", "BIH-PCC"]
        )
        assert set(known) == {("BIH_BP", "BIH-PCC")}


async def test_the_deleted_row_is_kept(client, db):
    ids = await seed(client)
    async with db.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT deleted_at IS NOT NULL FROM incidents WHERE id = :id"),
                {"id": ids["SRB-GONE"]},
            )
        ).scalar_one()
    assert kept


async def test_tiles_hold_only_what_the_caller_may_see(client, db, geography, settings):
    await seed(client)
    catalog = load_catalog(settings.layers_dir)
    zvornik = Tile(9, 283, 185)

    async def seen(caller: Caller, layer: str) -> list[dict]:
        made = await vector_tile(db, caller, geography, catalog[layer], IncidentFilter(), zvornik)
        decoded = mapbox_vector_tile.decode(made.content) if made.content else {}
        return [f for lyr in decoded.values() for f in lyr["features"]]

    montenegro = Caller(agency="MNE_BP", role="analyst")
    bosnia = Caller(agency="BIH_BP", role="analyst")
    # Montenegro sees the one shared record; Bosnia its own two; the deleted one nobody.
    assert len(await seen(montenegro, "incidents")) == 1
    assert len(await seen(bosnia, "incidents")) == 2
    assert len(await seen(SERVICE, "incidents")) == 3
    for caller, expected in ((montenegro, 1), (bosnia, 2), (SERVICE, 3)):
        hexes = await seen(caller, "incident-hexes")
        assert sum(f["properties"]["incidents"] for f in hexes) == expected
