"""What chat platforms teach us about people (`rhythm.profiles`), and who is unreachable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.profiles import ChatProfile
from rhythm.records import Unreachable
from storage.db import Repository
from storage.tables import chat_profile_t, organisation_t, prompt_t

c = chat_profile_t.c
o = organisation_t.c
p = prompt_t.c


class SqlPeopleRepository(Repository):
    """Implements `rhythm.ports.PeopleRepository`."""

    async def link_chat_user(
        self, org: str, person: str, *, platform: str, user_id: str, timezone: str | None = None
    ) -> None:
        if platform not in ("slack", "teams"):
            raise ValueError(f"unknown chat platform {platform!r}")
        values: dict[str, Any] = {f"{platform}_user_id": user_id}
        if timezone:
            values["chat_timezone"] = timezone
        await self._change_profile(org, person, values, wake_prompts=True)

    async def set_timezone(self, org: str, person: str, timezone: str | None) -> None:
        await self._change_profile(org, person, {"chosen_timezone": timezone})

    async def mark_unreachable(self, org: str, person: str, *, reason: str, at: datetime) -> None:
        # Reachability is not part of the tree: no revision moves.
        row = {"org": org, "person": person, "unreachable": reason, "unreachable_at": at,
               "updated_at": datetime.now(UTC)}  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(self._db.upsert(chat_profile_t, ["org", "person"], row))

    async def clear_unreachable(self, org: str, person: str) -> bool:
        # Asked on every request of a person: look before taking the write lock.
        marked = select(c.person).where(
            c.org == org, c.person == person, c.unreachable.is_not(None)
        )
        async with self._db.read() as conn:
            if (await conn.execute(marked)).first() is None:
                return False
        async with self._db.write() as conn:
            cleared = await conn.execute(
                update(chat_profile_t)
                .where(c.org == org, c.person == person, c.unreachable.is_not(None))
                .values(unreachable=None, unreachable_at=None, updated_at=datetime.now(UTC))
            )
        return cleared.rowcount > 0

    async def unreachable_people(self, org: str) -> list[Unreachable]:
        query = (
            select(c.person, c.unreachable, c.unreachable_at)
            .where(c.org == org, c.unreachable.is_not(None))
            .order_by(c.unreachable_at, c.person)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [Unreachable(person, reason, since) for person, reason, since in rows]

    async def chat_profiles(self, org: str) -> list[ChatProfile]:
        query = select(
            c.person, c.slack_user_id, c.teams_user_id, c.chat_timezone, c.chosen_timezone
        ).where(c.org == org)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [ChatProfile(*row) for row in rows]

    async def _change_profile(
        self, org: str, person: str, values: dict[str, Any], *, wake_prompts: bool = False
    ) -> None:
        """Upsert profile columns and stamp the row with the organisation's next people
        revision, in one transaction: every cached tree picks the change up on its next use.
        The revision's UPDATE locks the organisation row until commit, so revisions are
        handed out in commit order and a reader that sees revision N sees every change up to
        N. `wake_prompts`: the prompts waiting for this person's chat account become
        claimable at once, in the same transaction, for whichever replica ticks next."""
        async with self._db.write() as conn:
            revision = await _next_people_revision(conn, org)
            row = {"org": org, "person": person, **values, "revision": revision,
                   "updated_at": datetime.now(UTC)}  # fmt: skip
            await conn.execute(self._db.upsert(chat_profile_t, ["org", "person"], row))
            if wake_prompts:
                await conn.execute(
                    update(prompt_t)
                    .where(p.org == org, p.person == person, p.waiting_since.is_not(None),
                           p.sent_at.is_(None), p.claimed_by.is_(None))
                    .values(claimed_until=None)
                )  # fmt: skip


async def _next_people_revision(conn: AsyncConnection, org: str) -> int:
    bumped = await conn.execute(
        update(organisation_t)
        .where(o.key == org)
        .values(people_revision=o.people_revision + 1)
        .returning(o.people_revision)
    )
    revision = bumped.scalar_one_or_none()
    if revision is None:
        raise LookupError(f"no organisation {org!r}")
    return int(revision)
