"""Initial schema: reference geography, agencies, incidents and apprehensions.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 08:40:25.425743
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    agencies = op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("name_local", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.bulk_insert(
        agencies,
        [
            {
                "code": "BIH_BP",
                "country": "BIH",
                "name_local": "Granična policija Bosne i Hercegovine",
            },
            {
                "code": "MNE_BP",
                "country": "MNE",
                "name_local": "Uprava policije — granična policija",
            },
            {
                "code": "SRB_BP",
                "country": "SRB",
                "name_local": "Uprava granične policije, MUP Srbije",
            },
            {"code": "PCC", "country": None, "name_local": "Centar za policijsku saradnju"},
        ],
    )
    op.create_geospatial_table(
        "corridor",
        sa.Column("buffer_km", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("buffer_km", name=op.f("pk_corridor")),
    )
    op.create_geospatial_index(
        "ix_corridor_geom",
        "corridor",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "countries",
        sa.Column("iso3", sa.String(length=3), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_local", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("iso3", name=op.f("pk_countries")),
    )
    op.create_geospatial_index(
        "ix_countries_geom",
        "countries",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "borders",
        sa.Column("id", sa.String(length=7), nullable=False),
        sa.Column("country_a", sa.String(length=3), nullable=False),
        sa.Column("country_b", sa.String(length=3), nullable=False),
        sa.Column("monitored", sa.Boolean(), nullable=False),
        sa.Column("length_km", sa.Float(), nullable=False),
        sa.Column("official_length_km", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["country_a"], ["countries.iso3"], name=op.f("fk_borders_country_a_countries")
        ),
        sa.ForeignKeyConstraint(
            ["country_b"], ["countries.iso3"], name=op.f("fk_borders_country_b_countries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borders")),
    )
    op.create_geospatial_index(
        "ix_borders_geom",
        "borders",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "border_sections",
        sa.Column("id", sa.String(length=10), nullable=False),
        sa.Column("border_id", sa.String(length=7), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("length_km", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["border_id"], ["borders.id"], name=op.f("fk_border_sections_border_id_borders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_sections")),
    )
    op.create_geospatial_index(
        "ix_border_sections_geom",
        "border_sections",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "crossing_points",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_local", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("border_id", sa.String(length=7), nullable=False),
        sa.Column("section_id", sa.String(length=10), nullable=True),
        sa.Column("snapped_m", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "type IN ('road', 'rail', 'pedestrian')", name=op.f("ck_crossing_points_type")
        ),
        sa.ForeignKeyConstraint(
            ["border_id"], ["borders.id"], name=op.f("fk_crossing_points_border_id_borders")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["border_sections.id"],
            name=op.f("fk_crossing_points_section_id_border_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crossing_points")),
    )
    op.create_geospatial_index(
        "ix_crossing_points_geom",
        "crossing_points",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("agency", sa.String(length=16), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("location_accuracy_m", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(length=8), server_default="unknown", nullable=False),
        sa.Column("attempted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("detection", sa.String(length=16), server_default="other", nullable=False),
        sa.Column("means", sa.String(length=16), server_default="other", nullable=False),
        sa.Column("persons_involved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("crossing_point", sa.String(length=64), nullable=True),
        sa.Column("impact", sa.String(length=8), server_default="low", nullable=False),
        sa.Column("sharing", sa.String(length=8), server_default="national", nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("border_pair", sa.String(length=7), nullable=True),
        sa.Column("border_section", sa.String(length=10), nullable=True),
        sa.Column("distance_to_border_m", sa.Float(), nullable=True),
        sa.Column("h3_res5", sa.BigInteger(), nullable=False),
        sa.Column("h3_res6", sa.BigInteger(), nullable=False),
        sa.Column("h3_res7", sa.BigInteger(), nullable=False),
        sa.Column("h3_res8", sa.BigInteger(), nullable=False),
        sa.Column("h3_res9", sa.BigInteger(), nullable=False),
        sa.Column("h3_res10", sa.BigInteger(), nullable=False),
        sa.Column("submission_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "category IN ('unauthorised_crossing', 'migrant_smuggling', 'trafficking_in_human_beings', 'drug_smuggling', 'weapons_smuggling', 'excise_smuggling', 'stolen_vehicle', 'document_fraud', 'other_crime', 'crisis')",
            name=op.f("ck_incidents_category"),
        ),
        sa.CheckConstraint(
            "detection IN ('border_check', 'surveillance', 'inland', 'other')",
            name=op.f("ck_incidents_detection"),
        ),
        sa.CheckConstraint(
            "direction IN ('entry', 'exit', 'unknown')", name=op.f("ck_incidents_direction")
        ),
        sa.CheckConstraint("impact IN ('low', 'medium', 'high')", name=op.f("ck_incidents_impact")),
        sa.CheckConstraint(
            "means IN ('on_foot', 'vehicle', 'train', 'boat', 'other')",
            name=op.f("ck_incidents_means"),
        ),
        sa.CheckConstraint("sharing IN ('national', 'pcc')", name=op.f("ck_incidents_sharing")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_incidents_status")),
        sa.CheckConstraint(
            "length(external_ref) BETWEEN 1 AND 100", name=op.f("ck_incidents_external_ref")
        ),
        sa.CheckConstraint(
            "location_accuracy_m IS NULL OR location_accuracy_m >= 0",
            name=op.f("ck_incidents_accuracy"),
        ),
        sa.CheckConstraint("persons_involved >= 0", name=op.f("ck_incidents_persons_involved")),
        sa.ForeignKeyConstraint(
            ["agency"], ["agencies.code"], name=op.f("fk_incidents_agency_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["crossing_point"],
            ["crossing_points.id"],
            name=op.f("fk_incidents_crossing_point_crossing_points"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint(
            "agency", "external_ref", name=op.f("uq_incidents_agency_external_ref")
        ),
    )
    op.create_geospatial_index(
        "ix_incidents_geom",
        "incidents",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_incidents_occurred_at_id", "incidents", ["occurred_at", "id"], unique=False)
    op.create_index(
        "ix_incidents_reported_at",
        "incidents",
        ["reported_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_table(
        "apprehensions",
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("minors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("women", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("minors BETWEEN 0 AND persons", name=op.f("ck_apprehensions_minors")),
        sa.CheckConstraint("persons >= 1", name=op.f("ck_apprehensions_persons")),
        sa.CheckConstraint("women BETWEEN 0 AND persons", name=op.f("ck_apprehensions_women")),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_apprehensions_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "nationality", name=op.f("pk_apprehensions")),
    )
    op.create_index("ix_apprehensions_nationality", "apprehensions", ["nationality"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_apprehensions_nationality", table_name="apprehensions")
    op.drop_table("apprehensions")
    op.drop_index("ix_incidents_reported_at", table_name="incidents", postgresql_using="brin")
    op.drop_index("ix_incidents_occurred_at_id", table_name="incidents")
    op.drop_geospatial_index(
        "ix_incidents_geom", table_name="incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("incidents")
    op.drop_geospatial_index(
        "ix_crossing_points_geom",
        table_name="crossing_points",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("crossing_points")
    op.drop_geospatial_index(
        "ix_border_sections_geom",
        table_name="border_sections",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("border_sections")
    op.drop_geospatial_index(
        "ix_borders_geom", table_name="borders", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("borders")
    op.drop_geospatial_index(
        "ix_countries_geom", table_name="countries", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("countries")
    op.drop_geospatial_index(
        "ix_corridor_geom", table_name="corridor", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("corridor")
    op.drop_table("agencies")
