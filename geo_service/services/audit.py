"""Who did what, when and from where: every create, update, delete, import, export, login,
failed login and write made with an API key is added to the audit trail."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from geo_service.store import audit as store
from geo_service.store.visibility import Caller

ACTIONS = (
    "create", "update", "delete", "import", "export", "login", "login_failed", "logout",
    "key_write", "user", "key",
)  # fmt: skip


@dataclass(frozen=True)
class Trail:
    """The audit trail as seen from one request: who asks, from where, under which id."""

    engine: AsyncEngine
    caller: Caller
    address: str | None
    request_id: str | None

    async def add(
        self,
        action: str,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """An entry in a transaction of its own: for acts that change nothing else (logins,
        exports)."""
        async with self.engine.begin() as conn:
            await self.record(conn, action, subject, detail, actor)

    async def record(
        self,
        conn: AsyncConnection,
        action: str,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """An entry in the transaction of the change it records (`conn`'s): both are stored,
        or neither."""
        assert action in ACTIONS, action
        await store.add(
            conn,
            user_id=self.caller.user_id,
            actor=actor or self.caller.name,
            agency=self.caller.agency,
            action=action,
            subject=subject,
            detail=detail,
            address=self.address,
            request_id=self.request_id,
        )


async def entries(
    engine: AsyncEngine, caller: Caller, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """The trail an admin reads: their own agency's users' entries; the PCC's admins, who
    run the shared service, also those of nobody's agency (failed logins with names of no
    user)."""
    agencies = [caller.agency, None] if caller.agency == "PCC" else [caller.agency]
    async with engine.connect() as conn:
        return await store.read(conn, agencies, limit, before)
