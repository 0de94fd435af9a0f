"""Settings: one class, `GEO_SERVICE_` prefix, plus the conventional `DATABASE_URL`.

Defaults run locally with nothing set: the database is the project-local cluster that
`./dev` starts under `.data/`.
"""

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def local_database_url(database: str) -> str:
    """The URL of a database on the project-local cluster that `./dev` runs (its port is
    kept in .data/pg.port)."""
    port_file = PROJECT_ROOT / ".data" / "pg.port"
    port = port_file.read_text().strip() if port_file.exists() else "54329"
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEO_SERVICE_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: local_database_url("geo_service"),
        validation_alias=AliasChoices("DATABASE_URL", "GEO_SERVICE_DATABASE_URL"),
    )
    # A streaming replica for reads (layers, tiles, hexagons, hot spots, reports, exports);
    # reads fall back to the primary while it is down or lags more than replica_max_lag_s.
    database_read_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_READ_URL", "GEO_SERVICE_DATABASE_READ_URL"),
    )
    replica_max_lag_s: float = 5.0
    replica_check_interval_s: float = 0.5
    # The database role the service works as (migration 0005 makes it): not a superuser,
    # owner of nothing; empty when DATABASE_URL's user is that role already.
    db_role: str = "geo_service_app"
    # Demo mode (`./dev run`): demo users with known passwords may exist; outside it the
    # service refuses to start while any is enabled.
    demo: bool = False
    # Browser sessions: hours an analyst's, officer's or admin's lasts; days a viewer's (a
    # wall display) lasts.
    session_hours: float = 12.0
    viewer_session_days: float = 90.0
    borders_dir: Path = PROJECT_ROOT / "data" / "borders"
    layers_dir: Path = PROJECT_ROOT / "layers"
    web_dir: Path = PROJECT_ROOT / "web"
    scenarios_dir: Path = PROJECT_ROOT / "data" / "scenarios"
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest body accepted for one incident and for an import, in bytes.
    max_incident_bytes: int = 64 * 1024
    max_import_bytes: int = 200 * 1024 * 1024
    db_pool_size: int = 10
    # Seconds a statement may run before the database cancels it.
    statement_timeout_s: float = 30.0
    # Workers one statement may start: the service runs many short statements side by side,
    # where starting workers costs more than they save (raise it on a large database server).
    db_parallel_workers: int = 0
    log_sql: bool = False
    # Where the service's processes on one host file the vector tiles they make, for each
    # other (services.shared_results): "auto", a folder of the system's temporary directory
    # named after the database; a path; or empty: none.
    shared_results_dir: str = "auto"

    def shared_results_folder(self) -> Path | None:
        if not self.shared_results_dir:
            return None
        if self.shared_results_dir != "auto":
            return Path(self.shared_results_dir)
        named = hashlib.sha256(self.database_url.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"geo-service-shared-{named}"

    # Impact levels of border sections: a section's incidents per km per week against the
    # larger of its own weekly rate over the year before and its border's rate now (at
    # least impact_min_rate), raised to medium, high or critical from these ratios.
    impact_medium: float = 1.25
    impact_high: float = 2.0
    impact_critical: float = 4.0
    impact_min_rate: float = 0.1
    # A raster basemap for connected deployments (an XYZ URL template such as
    # https://tiles.example/{z}/{x}/{y}.png, and its attribution); by default none: the map
    # pages draw the project's own country polygons and borders and ask nothing outside.
    basemap_url: str | None = None
    basemap_attribution: str = ""
    # Largest selection one export may hold, in incidents, and the seconds its statements
    # may run.
    export_max_incidents: int = 2_000_000
    export_timeout_s: float = 900.0
    # Seconds between checks for alerts in each process (0: none; one process checks at a time).
    alert_interval_s: float = 60.0
    # Origins (scheme://host[:port]) whose pages may call the API from a browser, as a JSON
    # list; none by default, and then no CORS header is sent at all.
    cors_origins: list[str] = []
    # Requests a second each client address and each credential may make after a burst, and
    # login attempts a minute per address; counted in each process; 0: no limit.
    rate_per_address_per_s: float = 50.0
    rate_per_address_burst: int = 200
    rate_per_credential_per_s: float = 50.0
    rate_per_credential_burst: int = 200
    login_attempts_per_minute: float = 5.0
    login_attempts_burst: int = 10


@lru_cache
def get_settings() -> Settings:
    return Settings()


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL for a libpq-style URL, always on the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def libpq_url(url: str) -> str:
    """The libpq URL psycopg wants, whatever driver suffix the setting carries."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
