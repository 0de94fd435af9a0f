"""Alembic environment: runs migrations on the URL from the settings or the Config."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from geo_service.settings import get_settings, sqlalchemy_url
from geo_service.store.models import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or sqlalchemy_url(get_settings().database_url)


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
