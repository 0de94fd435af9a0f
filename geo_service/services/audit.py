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


@dataclass
class Trail:
    """The audit trail as seen from one request: who asks, from where, under which id; and
    the write made with an API key (`key_use`, "METHOD path"), noted with the first entry
    of the request (`settle` notes it alone when there was none)."""

    engine: AsyncEngine
    caller: Caller
    address: str | None
    request_id: str | None
    key_use: str | None = None

    async def settle(self) -> None:
        """The write by key noted, if no entry of the request noted it already."""
        if self.key_use is not None:
            await self.add("key_write", self.key_use)

    async def add(
        self,
        action: str,
        subject: str | None = None,
        detail: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        """An entry on its own (one statement, committed): for acts that change nothing else
        (logins, exports, writes by key)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
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
        or neither. The request's write by key is noted in the same statement."""
        assert action in ACTIONS, action
        entries = [(action, subject, detail)]
        if self.key_use is not None:
            entries.insert(0, ("key_write", self.key_use, None))
        await store.add(
            conn,
            [
                {
                    "user_id": self.caller.user_id,
                    "actor": actor or self.caller.name,
                    "agency": self.caller.agency,
                    "action": act,
                    "subject": about,
                    "detail": more,
                    "address": self.address,
                    "request_id": self.request_id,
                }
                for act, about, more in entries
            ],
        )
        self.key_use = None


async def entries(
    engine: AsyncEngine, caller: Caller, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """The trail an admin reads: their own agency's users' entries; the PCC's admins, who
    run the shared service, also those of nobody's agency (failed logins with names of no
    user)."""
    agencies = [caller.agency, None] if caller.agency == "PCC" else [caller.agency]
    async with engine.connect() as conn:
        return await store.read(conn, agencies, limit, before)
