"""Users, API keys and browser sessions: who may do what, proven by key or by session, with
CSRF on a session's writes, no session chosen by anyone but the service, keys that expire and
are revoked, and every one of these acts in the audit trail."""

import pytest
from sqlalchemy import text

from geo_service.api.app import create_app
from geo_service.services import accounts
from geo_service.store import audit as audit_store
from tests.conftest import as_owner
from tests.factories import feature

URL = "/api/v1/incidents"
PASSWORD = "correct horse battery"


@pytest.fixture
async def client(client):
    """The app's client, presenting no credential of its own."""
    del client.headers["Authorization"]
    return client


@pytest.fixture
async def people(db):
    """A user of each role at BIH, an analyst at SRB, and an API key of each."""
    keys = {}
    for name, agency, role in [
        ("bih-viewer", "BIH_BP", "viewer"),
        ("bih-analyst", "BIH_BP", "analyst"),
        ("bih-officer", "BIH_BP", "officer"),
        ("bih-admin", "BIH_BP", "admin"),
        ("srb-officer", "SRB_BP", "officer"),
        ("srb-analyst", "SRB_BP", "analyst"),
    ]:
        await accounts.add_user(db, name, agency, role, PASSWORD)
        keys[name] = await accounts.create_key(db, name, "test", 30)
    return keys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_officer_writes_its_agencys_incidents_only(client, people):
    officer = bearer(people["bih-officer"])
    response = await client.post(URL, json=feature("K-1", agency="BIH_BP"), headers=officer)
    assert response.status_code == 201, response.text
    response = await client.post(URL, json=feature("K-2", agency="SRB_BP"), headers=officer)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    for reader in ("bih-analyst", "bih-viewer", "bih-admin"):
        response = await client.post(URL, json=feature("K-3"), headers=bearer(people[reader]))
        assert response.status_code == 403, reader


async def test_a_partner_reads_what_was_shared_and_cannot_change_it(client, people):
    srb = bearer(people["srb-officer"])
    shared = await client.post(
        URL, json=feature("S-PCC", agency="SRB_BP", sharing="pcc"), headers=srb
    )
    national = await client.post(
        URL, json=feature("S-NAT", agency="SRB_BP", sharing="national"), headers=srb
    )
    assert shared.status_code == national.status_code == 201
    bih = bearer(people["bih-analyst"])
    listed = (await client.get(URL, headers=bih)).json()["features"]
    assert [f["properties"]["external_ref"] for f in listed] == ["S-PCC"]
    national_id = national.json()["id"]
    assert (await client.get(f"{URL}/{national_id}", headers=bih)).status_code == 404
    officer = bearer(people["bih-officer"])
    patched = await client.patch(
        f"{URL}/{shared.json()['id']}",
        json={"properties": {"status": "closed"}},
        headers={**officer, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    # Not an incident this caller may change: the database does not even lock it for them.
    assert patched.status_code == 404
    gone = await client.delete(f"{URL}/{shared.json()['id']}", headers=officer)
    assert gone.status_code == 404
    # The viewer (wall display) reads no incident lists.
    viewer = bearer(people["bih-viewer"])
    assert (await client.get(URL, headers=viewer)).status_code == 403


# Every route that reads or writes the situation, and what anybody may read without a
# credential: health, the API's and the collections' descriptions, the pages and the login.
SITUATION = [
    "/api/v1/incidents",
    "/api/v1/incidents/1",
    "/ogc/collections/incidents/items",
    "/ogc/collections/borders/items",
    "/ogc/collections/incident-hexes/items",
    "/ogc/collections/hotspots/items",
    "/ogc/collections/incidents/tiles/WebMercatorQuad/9/283/185",
    "/api/v1/trends",
    "/api/v1/sections",
    "/api/v1/alerts",
    "/api/v1/exports?format=csv",
    "/api/v1/reports/situation?period=day",
    "/api/v1/stream",
    "/api/v1/audit",
    "/api/v1/session",
]
OPEN = ["/healthz", "/readyz", "/ogc", "/ogc/conformance", "/ogc/collections", "/api/v1/layers",
        "/ogc/collections/incidents/tiles", "/login", "/", "/wall", "/openapi.json"]  # fmt: skip


@pytest.mark.parametrize("path", SITUATION)
async def test_nothing_of_the_situation_is_served_without_a_credential(client, path):
    response = await client.get(path)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_descriptions_pages_and_health_are_open_and_writing_is_not(client, db):
    for path in OPEN:
        assert (await client.get(path)).status_code == 200, path
    assert (await client.post(URL, json=feature("ANON-1"))).status_code == 401
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar_one() == 0


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Bearer gsk_00000000_not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "gsk_' OR 1=1 --"},
        {"X-API-Key": "x" * 5000},
    ],
)
async def test_an_unknown_key_is_refused(client, people, header):
    response = await client.get(URL, headers=header)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_revoked_and_expired_keys_and_disabled_users_are_refused(
    client, db, people, caught_up
):
    """Each key is used (and so verified and kept by the service) before it is revoked,
    expired or its user disabled elsewhere: the database's notice of the change makes the
    service forget it."""
    for name in ("bih-analyst", "srb-analyst", "bih-admin"):
        assert (await client.get(URL, headers=bearer(people[name]))).status_code == 200
    key = people["bih-analyst"]
    await accounts.revoke_key(db, key.split("_")[1])
    await caught_up()
    assert (await client.get(URL, headers=bearer(key))).status_code == 401

    key = people["srb-analyst"]
    await as_owner(db, "UPDATE api_keys SET expires_at = now() - interval '1 s' "
                       f"WHERE prefix = '{key.split('_')[1]}'")  # fmt: skip
    await caught_up()
    assert (await client.get(URL, headers=bearer(key))).status_code == 401

    key = people["bih-admin"]
    await accounts.disable_user(db, "bih-admin")
    await caught_up()
    assert (await client.get(URL, headers=bearer(key))).status_code == 401


async def test_a_verified_key_is_not_looked_up_again_until_the_accounts_change(
    client, app, db, people, caught_up, monkeypatch
):
    key = bearer(people["bih-analyst"])
    assert (await client.get(URL, headers=key)).status_code == 200
    looked_up = []
    real = accounts.store.principal_of_key

    async def counting(conn, secret):
        looked_up.append(secret)
        return await real(conn, secret)

    monkeypatch.setattr(accounts.store, "principal_of_key", counting)
    for _ in range(5):
        assert (await client.get(URL, headers=key)).status_code == 200
    assert looked_up == []
    await accounts.disable_user(db, "srb-analyst")  # any change to the accounts
    await caught_up()
    assert (await client.get(URL, headers=key)).status_code == 200
    assert len(looked_up) == 1


async def test_a_session_needs_its_csrf_token_to_write(client, people):
    assert (
        await client.post("/api/v1/session", json={"username": "bih-officer", "password": "no"})
    ).status_code == 401
    login = await client.post(
        "/api/v1/session", json={"username": "BIH-Officer", "password": PASSWORD}
    )
    assert login.status_code == 201, login.text
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    csrf = login.json()["csrf_token"]
    assert (await client.get("/api/v1/session")).json()["role"] == "officer"

    refused = await client.post(URL, json=feature("C-1", agency="BIH_BP"))
    assert refused.status_code == 403
    wrong = await client.post(
        URL, json=feature("C-1", agency="BIH_BP"), headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    done = await client.post(
        URL, json=feature("C-1", agency="BIH_BP"), headers={"X-CSRF-Token": csrf}
    )
    assert done.status_code == 201

    out = await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_a_session_chosen_before_login_is_never_accepted(client, people):
    """Session fixation: a token planted in the browser before login is replaced, and
    authenticates nobody."""
    planted = {"Cookie": "geo_service_session=planted-by-someone-else"}
    assert (await client.get(URL, headers=planted)).status_code == 401
    login = await client.post(
        "/api/v1/session",
        json={"username": "bih-analyst", "password": PASSWORD},
        headers=planted,
    )
    assert login.status_code == 201
    given = login.cookies["geo_service_session"]
    assert given != "planted-by-someone-else" and len(given) >= 43
    client.cookies.clear()
    assert (await client.get(URL, headers=planted)).status_code == 401
    mine = {"Cookie": f"geo_service_session={given}"}
    assert (await client.get(URL, headers=mine)).status_code == 200


async def test_a_viewer_session_lasts_as_long_as_a_wall_display(client, people, settings):
    login = await client.post(
        "/api/v1/session", json={"username": "bih-viewer", "password": PASSWORD}
    )
    assert login.status_code == 201
    assert f"Max-Age={int(settings.viewer_session_days * 86400)}" in login.headers["set-cookie"]


async def test_every_act_lands_in_the_audit_trail(client, db, people):
    officer = bearer(people["bih-officer"])
    created = await client.post(URL, json=feature("A-1", agency="BIH_BP"), headers=officer)
    incident = created.json()["id"]
    changed = await client.patch(
        f"{URL}/{incident}",
        json={"properties": {"status": "closed"}},
        headers={**officer, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text
    assert (await client.delete(f"{URL}/{incident}", headers=officer)).status_code == 204
    exported = await client.get(
        "/api/v1/exports?format=csv&category=drug_smuggling", headers=bearer(people["bih-analyst"])
    )
    assert exported.status_code == 200
    for name in ("bih-analyst", "nobody-here"):
        failed = await client.post("/api/v1/session", json={"username": name, "password": "x"})
        assert failed.status_code == 401

    admin = bearer(people["bih-admin"])
    trail = await client.get("/api/v1/audit", headers=admin)
    assert trail.status_code == 200
    entries = trail.json()["entries"]
    acts = [(e["action"], e["actor"]) for e in reversed(entries)]
    assert acts == [
        ("key_write", "bih-officer"),
        ("create", "bih-officer"),
        ("key_write", "bih-officer"),
        ("update", "bih-officer"),
        ("key_write", "bih-officer"),
        ("delete", "bih-officer"),
        ("export", "bih-analyst"),
        ("login_failed", "bih-analyst"),  # an attempt on a BiH account
    ]
    assert all(e["request_id"] and e["address"] and e["at"] for e in entries)
    export = next(e for e in entries if e["action"] == "export")
    assert export["detail"]["query"] == "format=csv&category=drug_smuggling"
    assert (
        await client.get("/api/v1/audit", headers=bearer(people["bih-analyst"]))
    ).status_code == 403
    # A name of no user is nobody's agency's: the PCC's admins, who run the service, read it.
    await accounts.add_user(db, "pcc-admin", "PCC", "admin", PASSWORD)
    pcc = bearer(await accounts.create_key(db, "pcc-admin", "test", 1))
    shared = (await client.get("/api/v1/audit", headers=pcc)).json()["entries"]
    assert [(e["action"], e["actor"]) for e in shared] == [("login_failed", "nobody-here")]


async def test_an_officer_imports_its_agencys_records_only_and_it_is_audited(client, people):
    head = "agency,external_ref,category,occurred_at,lon,lat,sharing\n"
    own = head + "BIH_BP,I-1,unauthorised_crossing,2026-11-28T02:40:00Z,19.1031,44.3921,pcc\n"
    mixed = own + "SRB_BP,I-2,excise_smuggling,2026-11-27T22:00:00Z,19.13,44.38,national\n"
    officer = {**bearer(people["bih-officer"]), "Content-Type": "text/csv"}
    refused = await client.post("/api/v1/imports", content=mixed.encode(), headers=officer)
    assert refused.status_code == 403
    assert "SRB_BP" in refused.json()["detail"]
    taken = await client.post("/api/v1/imports", content=own.encode(), headers=officer)
    assert taken.status_code == 201, taken.text
    trail = (await client.get("/api/v1/audit", headers=bearer(people["bih-admin"]))).json()
    imported = [e for e in trail["entries"] if e["action"] == "import"]
    assert len(imported) == 1 and imported[0]["detail"]["created"] == 1
    assert imported[0]["actor"] == "bih-officer"


async def test_outside_demo_mode_the_service_refuses_to_start_with_demo_users(db, settings):
    made = await accounts.make_demo_users(db)
    assert len(made) == 16  # four agencies, four roles
    assert all(len(password) >= 16 for _, _, password in made.values())
    assert await accounts.make_demo_users(db) == {}  # made once, shown once
    refusing = create_app(settings)
    with pytest.raises(SystemExit, match="demo users are enabled"):
        async with refusing.router.lifespan_context(refusing):
            pass
    demo = create_app(settings.model_copy(update={"demo": True}))
    async with demo.router.lifespan_context(demo):
        pass


async def test_a_viewer_reads_incident_points_without_narratives_or_references(client, people):
    officer = bearer(people["bih-officer"])
    body = feature("V-1", agency="BIH_BP", narrative="Vozač kombija zadržan")
    created = await client.post(URL, json=body, headers=officer)
    assert created.status_code == 201
    items = "/ogc/collections/incidents/items"
    seen = {}
    for who in ("bih-viewer", "bih-analyst"):
        page = (await client.get(items, headers=bearer(people[who]))).json()["features"]
        one = await client.get(f"{items}/{created.json()['id']}", headers=bearer(people[who]))
        seen[who] = (page[0]["properties"], one.json()["properties"])
    for props in seen["bih-viewer"]:
        assert "narrative" not in props and "external_ref" not in props
        assert props["category"] == body["properties"]["category"]
    for props in seen["bih-analyst"]:
        assert props["narrative"] == "Vozač kombija zadržan" and props["external_ref"] == "V-1"


async def test_a_change_and_its_audit_entry_are_stored_together(client, db, people, monkeypatch):
    """The entry is written in the transaction of the change: if it cannot be written, the
    change is not stored either (and the other way round, nothing is lost between them)."""
    officer = bearer(people["bih-officer"])
    kept = await client.post(URL, json=feature("AT-0", agency="BIH_BP"), headers=officer)
    incident = kept.json()["id"]
    real_add = audit_store.add

    async def refusing(conn, entries):
        if any(e["action"] in ("create", "update", "delete", "import") for e in entries):
            raise RuntimeError("the audit trail refused the entry")
        await real_add(conn, entries)

    monkeypatch.setattr(audit_store, "add", refusing)
    created = await client.post(URL, json=feature("AT-1", agency="BIH_BP"), headers=officer)
    changed = await client.patch(
        f"{URL}/{incident}",
        json={"properties": {"status": "closed"}},
        headers={**officer, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
    )
    deleted = await client.delete(f"{URL}/{incident}", headers=officer)
    csv = "agency,external_ref,category,occurred_at,lon,lat\n"
    csv += "BIH_BP,AT-2,unauthorised_crossing,2026-11-28T02:40:00Z,19.1031,44.3921\n"
    imported = await client.post(
        "/api/v1/imports", content=csv.encode(), headers={**officer, "Content-Type": "text/csv"}
    )
    assert [r.status_code for r in (created, changed, deleted, imported)] == [500] * 4
    async with db.connect() as conn:
        rows = await conn.execute(text("SELECT external_ref, status, deleted_at FROM incidents"))
        assert [tuple(r) for r in rows] == [("AT-0", "open", None)]
