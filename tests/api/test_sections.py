"""/api/v1/sections: impact levels computed from the pressure on each border section, set
by hand with a reason, kept as a history, and refused where they cannot be set."""

from datetime import UTC, datetime, timedelta

import pytest

from geo_service.services.impact import computed_level
from geo_service.settings import Settings
from tests.credentials import bearer
from tests.factories import feature

URL = "/api/v1/sections"


@pytest.mark.parametrize(
    ("rate", "own", "border", "level"),
    [
        (0.05, 0.0, 0.0, "low"),  # below the minimum rate: nothing to raise
        (0.2, 0.05, 0.05, "high"),  # twice the minimum
        (1.0, 0.2, 0.5, "high"),
        (1.0, 0.2, 0.2, "critical"),
        (0.6, 0.5, 0.1, "low"),
        (0.65, 0.5, 0.1, "medium"),
    ],
)
def test_computed_levels(rate, own, border, level):
    assert computed_level(rate, own, border, Settings()) == level


@pytest.fixture
def admin(db) -> dict[str, str]:
    """An admin of the PCC: sets impact levels by hand."""
    return bearer("PCC", "admin")


async def test_a_surge_at_one_section_raises_it_and_not_its_neighbours(client, db):
    now = datetime.now(UTC)
    for i in range(40):  # Skelani, this week; nothing before
        body = feature(
            f"SK-{i}",
            coordinates=[19.53, 43.95],
            occurred_at=(now - timedelta(hours=i)).isoformat(),
        )
        assert (await client.post("/api/v1/incidents", json=body)).status_code == 201
    listed = {s["section"]: s for s in (await client.get(URL)).json()["sections"]}
    skelani = next(s for s in listed.values() if s["incidents"] == 40)
    assert skelani["impact_computed"] == "critical" and skelani["impact_level"] == "critical"
    others = [s for s in listed.values() if s["section"] != skelani["section"]]
    assert {s["impact_computed"] for s in others} == {"low"}


async def test_a_level_set_by_hand_shows_beside_the_computed_one_with_its_history(
    client, db, admin
):
    first = await client.post(
        f"{URL}/BIH-MNE-13/impact", json={"level": "high", "reason": "Drug couriers"}, headers=admin
    )
    assert first.status_code == 201 and first.json()["level"] == "high"
    one = (await client.get(f"{URL}/BIH-MNE-13")).json()
    assert one["impact_computed"] == "low" and one["impact_level"] == "high"
    assert one["impact_override"]["reason"] == "Drug couriers"
    withdrawn = await client.post(
        f"{URL}/BIH-MNE-13/impact", json={"level": None, "reason": "Over"}, headers=admin
    )
    assert withdrawn.status_code == 201
    again = (await client.get(f"{URL}/BIH-MNE-13")).json()
    assert again["impact_level"] == "low" and again["impact_override"] is None
    assert [h["level"] for h in again["override_history"]] == [None, "high"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("BIH-MNE-13", {"level": "extreme", "reason": "why not"}, 422, "level"),
        ("BIH-MNE-13", {"level": "high", "reason": ""}, 422, "reason"),
        ("NOWHERE-01", {"level": "high", "reason": "because"}, 404, None),
    ],
)
async def test_bad_overrides_are_refused_and_change_nothing(
    client, db, admin, path, body, status, field
):
    response = await client.post(f"{URL}/{path}/impact", json=body, headers=admin)
    assert response.status_code == status
    if field:
        assert response.json()["errors"][0]["field"] == field
    assert (await client.get(f"{URL}/BIH-MNE-13")).json()["override_history"] == []


async def test_the_border_sections_layer_carries_the_levels_in_features_and_tiles(
    client, db, admin
):
    import asyncio

    import mapbox_vector_tile

    await client.post(
        f"{URL}/BIH-SRB-07/impact",
        json={"level": "critical", "reason": "Night surge"},
        headers=admin,
    )
    one = (await client.get("/ogc/collections/border-sections/items/BIH-SRB-07")).json()
    assert one["properties"]["impact_level"] == "critical"
    assert one["properties"]["impact_computed"] == "low"
    page = (await client.get("/ogc/collections/border-sections/items?limit=200")).json()
    assert {f["properties"]["impact_level"] for f in page["features"]} == {"low", "critical"}
    tile_url = "/ogc/collections/border-sections/tiles/WebMercatorQuad/9/283/185"
    levels = {}
    for _ in range(40):  # the tile kept before is renewed by the database's notice
        decoded = mapbox_vector_tile.decode((await client.get(tile_url)).content)
        levels = {
            f["properties"]["id"]: f["properties"].get("impact_level")
            for f in decoded["border-sections"]["features"]
        }
        if levels.get("BIH-SRB-07") == "critical":
            break
        await asyncio.sleep(0.05)
    assert levels["BIH-SRB-07"] == "critical" and levels.get("BIH-SRB-06") == "low"


async def test_levels_of_another_period(client, db):
    body = feature("OLD-SK", coordinates=[19.53, 43.95], occurred_at="2026-06-03T01:00:00Z")
    for i in range(30):
        body["properties"]["external_ref"] = f"OLD-SK-{i}"
        assert (await client.post("/api/v1/incidents", json=body)).status_code == 201
    june = (await client.get(f"{URL}?datetime=2026-06-01T00:00:00Z/2026-06-08T00:00:00Z")).json()
    busy = [s for s in june["sections"] if s["incidents"] == 30]
    assert len(busy) == 1 and busy[0]["impact_computed"] == "critical"
    now = (await client.get(URL)).json()
    assert all(s["incidents"] == 0 for s in now["sections"])
    bad = await client.get(f"{URL}?datetime=2026-06-01T00:00:00Z/..")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "datetime"


async def test_only_a_pcc_administrator_sets_levels(db, geography):
    from geo_service.services import impact
    from geo_service.store.visibility import Caller

    for caller in (Caller("BIH_BP", "admin"), Caller("PCC", "analyst")):
        with pytest.raises(impact.Forbidden):
            await impact.set_override(db, caller, geography, "BIH-SRB-07", "high", "a reason")
    made = await impact.set_override(
        db, Caller("PCC", "admin"), geography, "BIH-SRB-07", "high", "a reason"
    )
    assert made["level"] == "high" and made["set_by"] == "PCC"
