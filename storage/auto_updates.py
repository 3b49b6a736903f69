"""Automatic updates: a value another system pushed, stored with the key result's new current
value in one transaction.

A push and a check-in both write `key_result.current_value`. On PostgreSQL the push holds the
organisation's row in key-share mode, as a check-in does (so an import, which locks it for
update, never interleaves with either), then locks the key result's row for update: a
check-in's UPDATE of that row waits for the push to commit, and a push waits for a check-in
under way, so each reads the value the other committed (`value_before`) and the later commit
is the current value. SQLite needs neither: BEGIN IMMEDIATE lets one writer in at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.records import AutoUpdate
from storage.db import Repository
from storage.tables import auto_update_t, key_result_t, organisation_t

a = auto_update_t.c
k = key_result_t.c


class _Missing:
    """No such key result (distinct from a key result whose current value is NULL)."""


MISSING = _Missing()


class SqlAutoUpdateRepository(Repository):
    """Implements `rhythm.ports.AutoUpdateRepository`."""

    async def save_auto_update(
        self,
        org: str,
        key_result: str,
        value: float,
        *,
        source: str,
        submitted_at: datetime,
        idempotency_key: str | None = None,
    ) -> AutoUpdate | None:
        try:
            async with self._db.write() as conn:
                before = await lock_for_push(
                    conn, org, key_result, postgresql=self._db.is_postgresql
                )
                # Looked up under the lock: a concurrent push of the same key (same key result)
                # committed before we got it, and is found here.
                if idempotency_key is not None:
                    stored = await _find(conn, org, idempotency_key)
                    if stored is not None:
                        return stored
                if isinstance(before, _Missing):
                    return None
                pushed_id = (
                    await conn.execute(
                        insert(auto_update_t)
                        .values(
                            org=org,
                            key_result=key_result,
                            value=value,
                            value_before=before,
                            source=source,
                            submitted_at=submitted_at,
                            idempotency_key=idempotency_key,
                        )
                        .returning(a.id)
                    )
                ).scalar_one()
                await conn.execute(
                    update(key_result_t)
                    .where(k.org == org, k.key == key_result)
                    .values(current_value=value)
                )
        except IntegrityError:
            # The same idempotency key, committed meanwhile by a push of another key result
            # (whose row we did not lock): that push is the one stored.
            if idempotency_key is None:
                raise
            async with self._db.read() as conn:
                stored = await _find(conn, org, idempotency_key)
            if stored is None:
                raise
            return stored
        return AutoUpdate(
            pushed_id, key_result, value, before, source, submitted_at, idempotency_key
        )


async def lock_for_push(
    conn: AsyncConnection, org: str, key_result: str, *, postgresql: bool
) -> float | _Missing | None:
    """The key result's current value, with its row locked until commit on PostgreSQL (after
    the organisation's row, in key-share mode, as a check-in holds it); MISSING when the
    organisation has no such key result."""
    query = select(k.current_value).where(k.org == org, k.key == key_result)
    if postgresql:
        await conn.execute(
            select(organisation_t.c.key)
            .where(organisation_t.c.key == org)
            .with_for_update(read=True, key_share=True)
        )
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return MISSING if row is None else row.current_value


async def _find(conn: AsyncConnection, org: str, idempotency_key: str) -> AutoUpdate | None:
    row = (
        await conn.execute(
            select(auto_update_t).where(a.org == org, a.idempotency_key == idempotency_key)
        )
    ).first()
    if row is None:
        return None
    return AutoUpdate(
        row.id, row.key_result, row.value, row.value_before, row.source, row.submitted_at,
        row.idempotency_key, created=False,
    )  # fmt: skip
