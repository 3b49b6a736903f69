"""Conversation references for proactive messages, and drafts of paged forms."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from rhythm.records import Conversation, Draft
from storage.db import Repository
from storage.tables import conversation_t, form_draft_t

cv = conversation_t.c
fd = form_draft_t.c


class SqlConversationRepository(Repository):
    """Implements `rhythm.ports.ConversationRepository`."""

    async def save_conversation(self, conversation: Conversation) -> None:
        row = {
            "platform": conversation.platform,
            "address": conversation.address,
            "org": conversation.org,
            "person": conversation.person,
            "reference": dict(conversation.reference),
            "updated_at": datetime.now(UTC),
        }
        async with self._db.write() as conn:
            await conn.execute(self._db.upsert(conversation_t, ["platform", "address"], row))

    async def conversation(self, platform: str, address: str) -> Conversation | None:
        query = select(cv.platform, cv.address, cv.reference, cv.org, cv.person).where(
            cv.platform == platform, cv.address == address
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return Conversation(*row) if row else None


class SqlDraftRepository(Repository):
    """Implements `rhythm.ports.DraftRepository`."""

    async def save_draft(self, org: str, person: str, key: str, draft: Draft) -> None:
        row = {
            "org": org, "person": person, "context": key, "answers": dict(draft.answers),
            "confirmed": dict(draft.confirmed), "updated_at": datetime.now(UTC),
        }  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(self._db.upsert(form_draft_t, ["org", "person", "context"], row))

    async def load_draft(self, org: str, person: str, key: str) -> Draft:
        query = select(fd.answers, fd.confirmed).where(
            fd.org == org, fd.person == person, fd.context == key
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return Draft()
        return Draft(dict(row.answers or {}), dict(row.confirmed or {}))

    async def clear_draft(self, org: str, person: str, key: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                delete(form_draft_t).where(fd.org == org, fd.person == person, fd.context == key)
            )
