"""The one visibility filter. Every read of incidents starts from `visible_incidents`; every
read of the counts kept per cell (hex_counts, hex_nationalities) applies `shared_with`.
Underneath, PostgreSQL's row-level security applies the same rule again (migration 0005).

An incident shared `national` is seen by its own agency only; one shared `pcc` by every
partner agency. Deleted incidents are seen by nobody. The service itself (no agency) sees
everything that is not deleted.
"""

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, true

from geo_service.store.models import incidents


@dataclass(frozen=True)
class Caller:
    """Who asks: their agency (None for the service itself) and role; the user, when a
    user asks (by API key or browser session)."""

    agency: str | None
    role: str = "admin"
    # Not compared (nor in its repr, which names shared results): callers of one agency and
    # role see the same, so results kept for one of them (caches, the live stream's shared
    # reads) serve them all.
    user_id: int | None = field(default=None, compare=False, repr=False)
    name: str = field(default="service", compare=False, repr=False)


SERVICE = Caller(agency=None, role="admin")

# Who the database work under way is for: set once per request (api.deps.caller); every
# connection taken from the pool then runs as that caller (store.db), so that PostgreSQL's
# row-level security applies the same sharing rule under every query. Work the service does
# on its own account runs as SERVICE.
CURRENT_CALLER: ContextVar[Caller] = ContextVar("current_caller", default=SERVICE)


@contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    """The database work of the block done as `caller`."""
    token = CURRENT_CALLER.set(caller)
    try:
        yield
    finally:
        CURRENT_CALLER.reset(token)


def as_service() -> contextlib.AbstractContextManager[None]:
    """The database work of the block done as the service itself: for what row-level security
    cannot do for an agency's caller (COPY), once the service has checked the caller may."""
    return acting_as(SERVICE)


def shared_with(caller: Caller, agency: Any, sharing: Any) -> ColumnElement[bool]:
    """The sharing rule over any row that carries an incident's `agency` and `sharing` (an
    incident, or a count of incidents kept per agency and sharing)."""
    if caller.agency is None:
        return true()
    return or_(agency == caller.agency, sharing == "pcc")


def visibility_clause(caller: Caller, *, deleted: bool = False) -> ColumnElement[bool]:
    """The condition an incident row must meet to be seen by `caller` (deleted rows too when
    `deleted`: only to tell that a reference is taken)."""
    shared = shared_with(caller, incidents.c.agency, incidents.c.sharing)
    return shared if deleted else and_(incidents.c.deleted_at.is_(None), shared)


def visible_incidents(caller: Caller, *columns: Any, deleted: bool = False) -> Select[Any]:
    """SELECT `columns` FROM incidents, restricted to what `caller` may see."""
    return select(*columns).select_from(incidents).where(visibility_clause(caller, deleted=deleted))
