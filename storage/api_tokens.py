"""The HTTP API's bearer tokens: their hashes, scopes and when they were used."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import RowMapping, or_, select, update

from rhythm.ports import ApiScope, ApiToken
from storage.db import Repository
from storage.tables import api_token_t

t = api_token_t.c


def _token(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        org=row["org"],
        name=row["name"],
        scope=ApiScope(row["scope"]),
        token_hash=row["token_hash"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


class SqlApiTokenRepository(Repository):
    """Implements `rhythm.ports.ApiTokenRepository`."""

    async def add_api_token(
        self, org: str, *, name: str, scope: ApiScope, token_hash: str, at: datetime
    ) -> ApiToken | None:
        row = {
            "org": org, "name": name, "scope": scope.value, "token_hash": token_hash,
            "created_at": at,
        }  # fmt: skip
        # Only a name taken is ignored: a clash of two SHA-256 of 256 random bits is no case.
        stmt = self._db.insert_ignoring(api_token_t, ["org", "name"]).values(row)
        async with self._db.write() as conn:
            added = (await conn.execute(stmt.returning(*api_token_t.c))).mappings().first()
        return _token(added) if added is not None else None

    async def api_tokens(self, org: str) -> list[ApiToken]:
        query = select(api_token_t).where(t.org == org).order_by(t.created_at, t.id)
        async with self._db.read() as conn:
            return [_token(row) for row in (await conn.execute(query)).mappings()]

    async def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        query = select(api_token_t).where(t.token_hash == token_hash)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _token(row) if row is not None else None

    async def revoke_api_token(self, org: str, name: str, *, at: datetime) -> ApiToken | None:
        mine = (t.org == org) & (t.name == name)
        async with self._db.write() as conn:
            await conn.execute(
                update(api_token_t).where(mine, t.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = (await conn.execute(select(api_token_t).where(mine))).mappings().first()
        return _token(row) if row is not None else None

    async def touch_api_token(self, token_id: int, *, at: datetime, every: timedelta) -> None:
        stale = or_(t.last_used_at.is_(None), t.last_used_at <= at - every)
        async with self._db.write() as conn:
            await conn.execute(
                update(api_token_t).where(t.id == token_id, stale).values(last_used_at=at)
            )
