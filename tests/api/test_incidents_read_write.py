"""GET one and many, PATCH with If-Match, DELETE as a soft delete."""

import asyncio

import httpx
from sqlalchemy import text

from tests.credentials import officer_of
from tests.factories import feature

URL = "/api/v1/incidents"
GEOJSON = {"Content-Type": "application/geo+json"}


async def create(client: httpx.AsyncClient, ref: str, **kw) -> dict:
    body = feature(ref, **kw)
    response = await client.post(URL, json=body, headers={**GEOJSON, **officer_of(body)})
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_unknown_incident_is_a_404_problem(client):
    response = await client.get(f"{URL}/999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_non_numeric_id_is_a_400_problem(client):
    response = await client.get(f"{URL}/abc")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "incident_id"


async def test_list_is_a_feature_collection_newest_first(client):
    await create(client, "A", occurred_at="2026-11-01T10:00:00Z")
    await create(client, "B", occurred_at="2026-11-03T10:00:00Z")
    await create(client, "C", occurred_at="2026-11-02T10:00:00Z")
    response = await client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 3
    assert [f["properties"]["external_ref"] for f in body["features"]] == ["B", "C", "A"]
    assert [link["rel"] for link in body["links"]] == ["self"]


async def test_keyset_pages_follow_next_links_without_gaps_or_repeats(client):
    for i in range(7):
        # Two incidents share each time: the id breaks the tie.
        await create(client, f"P{i}", occurred_at=f"2026-11-0{1 + i // 2}T10:00:00Z")
    seen: list[str] = []
    url: str | None = f"{URL}?limit=3"
    pages = 0
    while url:
        body = (await client.get(url)).json()
        seen += [f["properties"]["external_ref"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 3
    assert sorted(seen) == [f"P{i}" for i in range(7)] and len(seen) == 7


async def test_filters_narrow_the_list(client):
    await create(client, "ZV", category="unauthorised_crossing", occurred_at="2026-11-10T01:00:00Z")
    await create(
        client,
        "TB",
        agency="MNE_BP",
        category="drug_smuggling",
        coordinates=[18.44, 42.58],
        occurred_at="2026-11-12T01:00:00Z",
        apprehensions=[{"nationality": "ALB", "persons": 1}],
        persons_involved=1,
    )

    async def refs(query: str) -> list[str]:
        response = await client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.text
        return sorted(f["properties"]["external_ref"] for f in response.json()["features"])

    assert await refs("category=drug_smuggling") == ["TB"]
    assert await refs("category=drug_smuggling,unauthorised_crossing") == ["TB", "ZV"]
    assert await refs("category=drug_smuggling&category=unauthorised_crossing") == ["TB", "ZV"]
    assert await refs("agency=BIH_BP") == ["ZV"]
    assert await refs("nationality=ALB") == ["TB"]
    assert await refs("nationality=AFG,PAK") == ["ZV"]
    assert await refs("bbox=18.9,44.2,19.4,44.6") == ["ZV"]
    assert await refs("datetime=2026-11-11T00:00:00Z/..") == ["TB"]
    assert await refs("datetime=../2026-11-11T00:00:00Z") == ["ZV"]
    assert await refs("datetime=2026-11-09T00:00:00Z/2026-11-13T00:00:00Z") == ["TB", "ZV"]
    zv = (await client.get(f"{URL}?agency=BIH_BP")).json()["features"][0]["properties"]
    assert await refs(f"border_section={zv['border_section']}") == ["ZV"]


async def test_crossing_point_filter(client, geography):
    point = geography.crossing_points.iloc[0]
    await create(
        client,
        "CP",
        crossing_point=point["id"],
        coordinates=[point.geometry.x, point.geometry.y],
        detection="border_check",
    )
    await create(client, "NOCP")
    response = await client.get(f"{URL}?crossing_point={point['id']}")
    assert [f["properties"]["external_ref"] for f in response.json()["features"]] == ["CP"]


async def test_bad_list_parameters_are_400_problems(client):
    for query, field in [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2026-11-01T00:00:00", "datetime"),
        ("datetime=2026-11-05T00:00:00Z/2026-11-01T00:00:00Z", "datetime"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("cursor=garbage", "cursor"),
    ]:
        response = await client.get(f"{URL}?{query}")
        assert response.status_code in (400, 422), (query, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field, (query, response.json())


async def test_limit_up_to_ten_thousand(client):
    await create(client, "ONE")
    response = await client.get(f"{URL}?limit=10000")
    assert response.status_code == 200


async def test_patch_with_the_current_etag_changes_and_re_derives(client):
    created = await create(client, "PATCH-1")
    location = f"{URL}/{created['properties']['id']}"
    patch = {
        "geometry": {"type": "Point", "coordinates": [18.56, 42.86]},
        "properties": {"status": "closed", "impact": "high", "narrative": None},
    }
    response = await client.patch(
        location,
        json=patch,
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    props = response.json()["properties"]
    assert response.headers["etag"] == '"2"' and props["version"] == 2
    assert props["status"] == "closed" and props["impact"] == "high"
    assert props["narrative"] is None
    assert props["border_pair"] == "BIH-MNE"  # moved near Trebinje: derived again
    assert props["apprehensions"] == created["properties"]["apprehensions"]


async def test_patch_with_a_stale_etag_is_412_and_changes_nothing(client):
    created = await create(client, "PATCH-2")
    location = f"{URL}/{created['properties']['id']}"
    ok = await client.patch(
        location, json={"properties": {"impact": "high"}}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200
    stale = await client.patch(
        location, json={"properties": {"impact": "low"}}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await client.get(location)).json()["properties"]["impact"] == "high"


async def test_patch_without_if_match_is_428(client):
    created = await create(client, "PATCH-3")
    response = await client.patch(f"{URL}/{created['properties']['id']}", json={"properties": {}})
    assert response.status_code == 428


async def test_patch_is_checked_by_the_same_rules(client):
    created = await create(client, "PATCH-4")
    location = f"{URL}/{created['properties']['id']}"
    for patch, field in [
        ({"properties": {"category": "fishing"}}, "properties.category"),
        ({"properties": {"persons_involved": 1}}, "properties.persons_involved"),
        ({"properties": {"external_ref": "OTHER"}}, "properties.external_ref"),
        ({"properties": {"agency": "SRB_BP"}}, "properties.agency"),
        ({"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry"),
    ]:
        response = await client.patch(location, json=patch, headers={"If-Match": '"1"'})
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}
    assert (await client.get(location)).json()["properties"]["version"] == 1


async def test_patch_of_a_malformed_body_is_422(client):
    created = await create(client, "PATCH-5")
    response = await client.patch(
        f"{URL}/{created['properties']['id']}",
        content=b"{oops",
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


async def test_delete_is_soft(client, db):
    created = await create(client, "DEL-1")
    location = f"{URL}/{created['properties']['id']}"
    stale = await client.delete(location, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert (await client.delete(location, headers={"If-Match": '"1"'})).status_code == 204
    assert (await client.get(location)).status_code == 404
    assert (await client.delete(location)).status_code == 404
    assert (await client.get(URL)).json()["numberReturned"] == 0
    async with db.connect() as conn:
        row = (await conn.execute(text("SELECT deleted_at FROM incidents"))).one()
    assert row.deleted_at is not None
    again = await client.post(URL, json=feature("DEL-1"), headers=GEOJSON)
    assert again.status_code == 409 and "deleted" in again.json()["detail"]


async def test_patch_with_properties_that_are_not_an_object_is_422(client):
    created = await create(client, "PATCH-6")
    location = f"{URL}/{created['properties']['id']}"
    for patch in ({"properties": "x"}, {"properties": [1]}, {"geometry": "here"}):
        response = await client.patch(location, json=patch, headers={"If-Match": '"1"'})
        assert response.status_code == 422, (patch, response.text)


async def test_patch_is_as_strict_as_post(client):
    created = await create(client, "PATCH-7")
    location = f"{URL}/{created['properties']['id']}"
    response = await client.patch(
        location, json={"properties": {"persons_involved": "9"}}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "properties.persons_involved"


async def test_a_listed_incident_is_the_same_document_as_its_single_read(client):
    # Listed features are made by PostgreSQL, a single read by the service: the same JSON.
    body = feature(
        "SAME-1",
        occurred_at="2026-11-20T01:02:03.120000+01:00",
        apprehensions=[
            {"nationality": "PAK", "persons": 2, "minors": 0, "women": 1},
            {"nationality": "AFG", "persons": 4, "minors": 1, "women": 0},
        ],
        location_accuracy_m=12.5,
        narrative="Grupa od šest osoba — Дрина",
    )
    created = (await client.post(URL, json=body)).json()
    await client.post(URL, json=feature("SAME-2", occurred_at="2026-11-20T05:00:00Z"))
    listed = {f["id"]: f for f in (await client.get(URL)).json()["features"]}
    for incident_id, item in listed.items():
        single = (await client.get(f"{URL}/{incident_id}")).json()
        assert item == single
    assert listed[created["id"]]["properties"]["occurred_at"] == "2026-11-20T00:02:03.120000Z"


async def test_a_kept_page_never_hides_a_change(app, client, db, caught_up):
    """Pages are kept between changes: the writer's own create, patch and delete show in its
    very next read, with no notice from the database yet (the process lets what it keeps go
    when it writes), and a change made elsewhere once its notice is in."""

    def refs(body: dict) -> list[str]:
        return [f["properties"]["external_ref"] for f in body["features"]]

    changes = app.state.changes
    await changes.stop()  # notices held back: only the process's own writes move it on
    changes.listening = True
    await create(client, "KEPT-1", occurred_at="2026-11-01T10:00:00Z")
    assert refs((await client.get(URL)).json()) == ["KEPT-1"]
    created = await create(client, "KEPT-2", occurred_at="2026-11-02T10:00:00Z")
    assert refs((await client.get(URL)).json()) == ["KEPT-2", "KEPT-1"]
    location = f"{URL}/{created['properties']['id']}"
    patched = await client.patch(
        location,
        json={"properties": {"status": "closed"}},
        headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    listed = (await client.get(URL)).json()["features"]
    assert listed[0]["properties"]["status"] == "closed"
    assert (await client.delete(location, headers={"If-Match": '"2"'})).status_code == 204
    assert refs((await client.get(URL)).json()) == ["KEPT-1"]
    changes.listening = False  # as it truly is, so that start() waits for its LISTEN
    await changes.start()
    for _ in range(200):
        if changes.listening:
            break
        await asyncio.sleep(0.05)
    async with db.begin() as conn:
        await conn.execute(text("UPDATE incidents SET narrative = 'changed elsewhere'"))
    await caught_up()
    listed = (await client.get(URL)).json()["features"]
    assert listed[0]["properties"]["narrative"] == "changed elsewhere"
