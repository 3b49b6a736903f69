"""Check-ins page by page with their answers: what the HTTP API lists and what an export of
the whole history streams, in constant memory whatever its size.

A page is one statement for the check-ins (keyset: by id, after the last id of the page
before) and one each for their key-result updates and initiative updates; a filter with many
people or key results costs one statement per few hundred of them. What each statement reads:

- with no people filter, the check-ins are walked by primary key from `after`, so a page reads
  about `limit` rows (plus those the other filters skip), never the whole history sorted;
- with people, their own check-ins (the checkin table's unique (org, person, ...)), sorted;
- with key results, those key results' updates (ix_kr_update_key_result, with the time range);
- a page's key-result updates by their check-in's person and instant (ix_kr_update_person),
  its initiatives by check-in (ix_initiative_update_checkin).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice, product

from sqlalchemy import ColumnElement, RowMapping, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import RhythmKind
from rhythm.ports import StoredCheckIn
from storage.db import Repository, chunks
from storage.history import checkin_draft
from storage.tables import checkin_t, initiative_update_t, kr_update_t

c = checkin_t.c
u = kr_update_t.c
i = initiative_update_t.c
r = checkin_t.alias("revision").c  # the other revisions of the same check-in

# IN lists of one statement (each page's look-ups use three of this size).
LIST_SIZE = 300


class SqlExportRepository(Repository):
    """Implements `rhythm.ports.HistoryRepository.checkins_page`."""

    async def checkins_page(
        self,
        org: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        people: Sequence[str] | None = None,
        key_results: Sequence[str] | None = None,
        after: int = 0,
        limit: int = 100,
        revisions: bool = False,
    ) -> list[StoredCheckIn]:
        if limit <= 0 or (people is not None and not people):
            return []  # an empty filter matches nothing
        if key_results is not None and not key_results:
            return []
        people_lists = [None] if people is None else chunks(sorted(set(people)), LIST_SIZE)
        kr_lists = [None] if key_results is None else chunks(sorted(set(key_results)), LIST_SIZE)
        async with self._db.snapshot() as conn:
            found: list[list[RowMapping]] = []
            for who, krs in product(people_lists, kr_lists):
                query = self._page_query(org, since, until, who, krs, after, limit, revisions)
                found.append(list((await conn.execute(query)).mappings()))
            # Each list is in id order; a check-in matches one people list but may match
            # several key-result lists.
            merged = heapq.merge(*found, key=lambda row: int(row["id"]))
            page = list(islice(_distinct(merged), limit))
            updates = await _updates(conn, org, page)
            initiatives = await _initiatives(conn, org, page)
        return [
            StoredCheckIn(
                id=row["id"],
                person=row["person"],
                kind=RhythmKind(row["kind"]),
                period=row["period"],
                prompt_id=row["answers_prompt"],
                revision=row["revision"],
                submitted_at=row["submitted_at"],
                draft=checkin_draft(row, updates[row["id"]], initiatives[row["id"]]),
                spontaneous=bool(row["was_spontaneous"]),
            )
            for row in page
        ]

    def _page_query(
        self,
        org: str,
        since: datetime | None,
        until: datetime | None,
        people: Sequence[str] | None,
        key_results: Sequence[str] | None,
        after: int,
        limit: int,
        revisions: bool,
    ) -> Select[tuple[object, ...]]:
        same_checkin = (r.org == c.org, r.person == c.person, r.kind == c.kind,
                        r.period == c.period)  # fmt: skip
        # An edit may have been saved without its prompt: the check-in still answers it.
        answers_prompt = func.coalesce(
            c.prompt_id,
            select(r.prompt_id)
            .where(*same_checkin, r.prompt_id.is_not(None))
            .order_by(r.revision.desc())
            .limit(1)
            .scalar_subquery(),
        )
        spontaneous = select(r.id).where(*same_checkin, r.spontaneous == true()).exists()
        where: list[ColumnElement[bool]] = [c.id > after]
        if people is None and not self._db.is_postgresql:
            # SQLite's planner, without statistics, would take any index that starts with
            # org and sort the organisation's whole history to find the first rows by id;
            # `org || ''` is no index's column, so it walks the primary key from `after`.
            where.append(c.org.concat("") == org)
        else:
            where.append(c.org == org)
        if people is not None:
            where.append(c.person.in_(people))
        if since is not None:
            where.append(c.submitted_at >= since)
        if until is not None:
            where.append(c.submitted_at < until)
        if key_results is not None:
            updating = [u.org == org, u.key_result.in_(key_results), u.checkin_id > after]
            if since is not None:
                updating.append(u.submitted_at >= since)
            if until is not None:
                updating.append(u.submitted_at < until)
            where.append(c.id.in_(select(u.checkin_id).where(*updating)))
        if not revisions:
            # Only the latest revision: no later one of the same check-in (the unique index).
            where.append(~select(r.id).where(*same_checkin, r.revision > c.revision).exists())
        return (
            select(
                checkin_t,
                answers_prompt.label("answers_prompt"),
                spontaneous.label("was_spontaneous"),
            )
            .where(*where)
            .order_by(c.id)
            .limit(limit)
        )


def _distinct(rows: Iterable[RowMapping]) -> Iterator[RowMapping]:
    last = None
    for row in rows:
        if row["id"] != last:
            last = row["id"]
            yield row


async def _updates(
    conn: AsyncConnection, org: str, page: Sequence[RowMapping]
) -> dict[int, list[RowMapping]]:
    """The page's key-result updates by check-in id, in the order they were saved. They share
    their check-in's person and instant: exact look-ups on ix_kr_update_person."""
    found: dict[int, list[RowMapping]] = defaultdict(list)
    for part in chunks(page, LIST_SIZE):
        rows = await conn.execute(
            select(kr_update_t)
            .where(
                u.org == org,
                u.person.in_(sorted({row["person"] for row in part})),
                u.submitted_at.in_(sorted({row["submitted_at"] for row in part})),
                u.checkin_id.in_([row["id"] for row in part]),
            )
            .order_by(u.id)
        )
        for update in rows.mappings():
            found[update["checkin_id"]].append(update)
    return found


async def _initiatives(
    conn: AsyncConnection, org: str, page: Sequence[RowMapping]
) -> dict[int, list[tuple[str, str]]]:
    """The page's initiative updates, (key, status) by check-in id, in the order saved."""
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for part in chunks(page, LIST_SIZE):
        rows = await conn.execute(
            select(i.checkin_id, i.initiative, i.status)
            .where(i.org == org, i.checkin_id.in_([row["id"] for row in part]))
            .order_by(i.id)
        )
        for checkin_id, initiative, status in rows:
            found[checkin_id].append((initiative, status))
    return found
