"""The migrations go up and down cleanly on an empty database and match the models."""

import uuid

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect, pool

from geo_service.settings import libpq_url, sqlalchemy_url
from geo_service.store import migrate
from geo_service.store.models import metadata


@pytest.fixture
def empty_database(settings):
    """A new, empty database on the test server, dropped afterwards."""
    name = f"geo_service_migrations_{uuid.uuid4().hex[:8]}"
    server = libpq_url(settings.database_url).rsplit("/", 1)[0]
    admin = f"{server}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()


def test_up_down_up_on_an_empty_database(empty_database):
    migrate.upgrade(empty_database)
    assert tables(empty_database) == {
        "alembic_version",
        "agencies",
        "countries",
        "borders",
        "border_sections",
        "crossing_points",
        "corridor",
        "incidents",
        "apprehensions",
        "hex_counts",
        "hex_nationalities",
        "section_impact_overrides",
        "alerts",
        "alert_states",
        "users",
        "api_keys",
        "sessions",
        "audit",
    }
    migrate.downgrade(empty_database, "base")
    assert tables(empty_database) == {"alembic_version"}
    migrate.upgrade(empty_database)
    assert "incidents" in tables(empty_database)


def test_the_migrated_schema_matches_the_models(migrated):
    engine = create_engine(sqlalchemy_url(migrated), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": alembic_helpers.include_object}
        )
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_geometry_columns_carry_their_srid_and_gist_indexes(migrated):
    with psycopg.connect(libpq_url(migrated)) as conn:
        columns = conn.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns ORDER BY f_table_name"
        ).fetchall()
        gist = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist%'"
            )
        }
    assert {c[0] for c in columns} == {
        "border_sections",
        "borders",
        "corridor",
        "countries",
        "crossing_points",
        "incidents",
    }
    assert all(c[2] == 4326 for c in columns)
    assert ("incidents", "POINT", 4326) in columns
    assert gist >= {c[0] for c in columns}


def test_agencies_are_seeded(migrated):
    with psycopg.connect(libpq_url(migrated)) as conn:
        codes = {r[0] for r in conn.execute("SELECT code FROM agencies")}
    assert codes == {"BIH_BP", "MNE_BP", "SRB_BP", "PCC"}


def test_the_audit_trail_is_append_only_for_the_service(migrated):
    """The service's roles may add to the audit trail and read it, never change or remove."""
    with psycopg.connect(migrated, autocommit=True) as conn:
        for role in ("geo_service_app", "geo_service_caller"):
            rights = conn.execute(
                "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) "
                "FROM information_schema.role_table_grants "
                "WHERE table_name = 'audit' AND grantee = %s",
                (role,),
            ).fetchone()[0]
            assert rights == "INSERT,SELECT"
