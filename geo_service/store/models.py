"""Tables, as SQLAlchemy Core metadata with GeoAlchemy2 geometry columns.

The migrations under `migrations/versions` create exactly these; tests compare the two.
"""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INET, JSONB

from geo_service import domain

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


agencies = Table(
    "agencies",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("country", String(3)),
    Column("name_local", Text, nullable=False),
)

countries = Table(
    "countries",
    metadata,
    Column("iso3", String(3), primary_key=True),
    Column("name_en", Text, nullable=False),
    Column("name_local", Text, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Index("ix_countries_geom", "geom", postgresql_using="gist"),
)

borders = Table(
    "borders",
    metadata,
    Column("id", String(7), primary_key=True),
    Column("country_a", String(3), ForeignKey("countries.iso3"), nullable=False),
    Column("country_b", String(3), ForeignKey("countries.iso3"), nullable=False),
    Column("monitored", Boolean, nullable=False),
    Column("length_km", Float, nullable=False),
    Column("official_length_km", Float),
    Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
    Index("ix_borders_geom", "geom", postgresql_using="gist"),
)

border_sections = Table(
    "border_sections",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("border_id", String(7), ForeignKey("borders.id"), nullable=False),
    Column("seq", SmallInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("length_km", Float, nullable=False),
    Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
    Index("ix_border_sections_geom", "geom", postgresql_using="gist"),
)

crossing_points = Table(
    "crossing_points",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name_local", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("border_id", String(7), ForeignKey("borders.id"), nullable=False),
    Column("section_id", String(10), ForeignKey("border_sections.id")),
    Column("snapped_m", Float, nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    CheckConstraint("type IN ('road', 'rail', 'pedestrian')", name="type"),
    Index("ix_crossing_points_geom", "geom", postgresql_using="gist"),
)

corridor = Table(
    "corridor",
    metadata,
    Column("buffer_km", Float, primary_key=True),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Index("ix_corridor_geom", "geom", postgresql_using="gist"),
)

H3_COLUMNS = tuple(f"h3_res{r}" for r in domain.H3_RESOLUTIONS)

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("agency", String(16), ForeignKey("agencies.code"), nullable=False),
    Column("external_ref", Text, nullable=False),
    Column("category", String(32), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("location_accuracy_m", Float),
    Column("direction", String(8), nullable=False, server_default="unknown"),
    Column("attempted", Boolean, nullable=False, server_default=text("false")),
    Column("detection", String(16), nullable=False, server_default="other"),
    Column("means", String(16), nullable=False, server_default="other"),
    Column("persons_involved", Integer, nullable=False, server_default="0"),
    Column("crossing_point", String(64), ForeignKey("crossing_points.id")),
    Column("impact", String(8), nullable=False, server_default="low"),
    Column("sharing", String(8), nullable=False, server_default="national"),
    Column("narrative", Text),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("version", Integer, nullable=False, server_default="1"),
    # Derived when written, never sent by clients.
    Column("country", String(3)),
    Column("border_pair", String(7)),
    Column("border_section", String(10)),
    Column("distance_to_border_m", Float),
    *(Column(name, BigInteger, nullable=False) for name in H3_COLUMNS),
    # SHA-256 of the submission that created the row: a retry of it is recognised as such.
    Column("submission_sha256", LargeBinary(32), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
    UniqueConstraint("agency", "external_ref"),
    _one_of("category", domain.CATEGORIES),
    _one_of("direction", domain.DIRECTIONS),
    _one_of("detection", domain.DETECTIONS),
    _one_of("means", domain.MEANS),
    _one_of("impact", domain.IMPACTS),
    _one_of("sharing", domain.SHARINGS),
    _one_of("status", domain.STATUSES),
    CheckConstraint("persons_involved >= 0", name="persons_involved"),
    CheckConstraint("location_accuracy_m IS NULL OR location_accuracy_m >= 0", name="accuracy"),
    CheckConstraint("length(external_ref) BETWEEN 1 AND 100", name="external_ref"),
    Index("ix_incidents_geom", "geom", postgresql_using="gist"),
    Index("ix_incidents_occurred_at_id", "occurred_at", "id"),
    # Rows arrive in the order they are reported: a BRIN index serves "reported since" and
    # costs next to nothing to keep up during bulk imports.
    Index("ix_incidents_reported_at", "reported_at", postgresql_using="brin"),
)

apprehensions = Table(
    "apprehensions",
    metadata,
    Column(
        "incident_id",
        BigInteger,
        ForeignKey("incidents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("nationality", String(3), primary_key=True),
    Column("persons", Integer, nullable=False),
    Column("minors", Integer, nullable=False, server_default="0"),
    Column("women", Integer, nullable=False, server_default="0"),
    CheckConstraint("persons >= 1", name="persons"),
    CheckConstraint("minors BETWEEN 0 AND persons", name="minors"),
    CheckConstraint("women BETWEEN 0 AND persons", name="women"),
    Index("ix_apprehensions_nationality", "nationality"),
)


# Incidents per H3 cell, kept by the database itself (triggers on incidents and
# apprehensions, see migration 0002): per resolution, per UTC day ("d") and month ("m"),
# per cell, agency and sharing, with a count and the persons involved per category; and the
# persons apprehended per nationality and category. Hexagon aggregates read whole days and
# months here and only the partial days at a window's edges from the incidents themselves.
ROLLUP_RESOLUTIONS = (5, 6, 7)  # finer ones are read from the incidents alone
ROLLUP_KEY = ("resolution", "period", "start", "cell", "agency", "sharing")


def _rollup_key() -> list[Column[object]]:
    return [
        Column("resolution", SmallInteger, primary_key=True),
        Column("period", String(1), primary_key=True),
        Column("start", Date, primary_key=True),
        Column("cell", BigInteger, primary_key=True),
        Column("agency", String(16), primary_key=True),
        Column("sharing", String(8), primary_key=True),
    ]


def _per_category(prefix: str) -> list[Column[object]]:
    return [
        Column(f"{prefix}_{c}", Integer, nullable=False, server_default="0")
        for c in domain.CATEGORIES
    ]


hex_counts = Table("hex_counts", metadata, *_rollup_key(), *_per_category("n"), *_per_category("p"))

hex_nationalities = Table(
    "hex_nationalities",
    metadata,
    *_rollup_key(),
    Column("nationality", String(3), primary_key=True),
    *_per_category("a"),
)

# Impact levels set by hand on border sections, EUROSUR-style, with their reasons: a history,
# the newest row of a section being its current override (a row without level withdraws it).
section_impact_overrides = Table(
    "section_impact_overrides",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("section_id", String(10), ForeignKey("border_sections.id"), nullable=False),
    Column("level", String(8)),
    Column("reason", Text, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(
        "level IS NULL OR level IN ('low', 'medium', 'high', 'critical')", name="level"
    ),
    CheckConstraint("length(reason) BETWEEN 3 AND 2000", name="reason"),
    Index("ix_section_impact_overrides_section_id_set_at", "section_id", "set_at"),
)

# Alerts raised when a section's impact level rises or a cell becomes a hot spot: written
# once per change of state (alert_states holds the last state seen of each subject).
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("kind IN ('section-level', 'hot-spot')", name="kind"),
    Index("ix_alerts_raised_at", "raised_at"),
)

alert_states = Table(
    "alert_states",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("subject", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Users of one agency and one role; their API keys and browser sessions. Passwords are
# argon2id hashes; keys and session tokens are stored as SHA-256 digests only.
users = Table(
    "users",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("username", Text, nullable=False),
    Column("agency", String(16), ForeignKey("agencies.code"), nullable=False),
    Column("role", String(8), nullable=False),
    Column("password_hash", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True)),
    _one_of("role", domain.ROLES),
    Index("uq_users_username", text("lower(username)"), unique=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("prefix", String(12), nullable=False),
    Column("secret_sha256", LargeBinary(32), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_sha256", LargeBinary(32), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_sessions_expires_at", "expires_at"),
)

# Who did what, when and from where: append-only for the service's roles (migration 0006).
audit = Table(
    "audit",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("user_id", BigInteger),
    Column("actor", Text, nullable=False),
    Column("agency", String(16)),
    Column("action", String(16), nullable=False),
    Column("subject", Text),
    Column("detail", JSONB),
    Column("address", INET),
    Column("request_id", Text),
    Index("ix_audit_at", "at"),
)
