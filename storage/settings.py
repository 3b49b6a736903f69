"""What people chose for themselves with `settings`: one row per person who ever chose."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from rhythm.records import PersonSettings
from storage.db import Repository, chunks
from storage.tables import person_setting_t

s = person_setting_t.c


class SqlSettingsRepository(Repository):
    """Implements `rhythm.ports.SettingsRepository`."""

    async def person_settings(self, org: str, people: Sequence[str]) -> dict[str, PersonSettings]:
        wanted = sorted(set(people))
        found = {person: PersonSettings() for person in wanted}
        async with self._db.read() as conn:
            for chunk in chunks(wanted):
                rows = await conn.execute(
                    select(s.person, s.missing_list).where(s.org == org, s.person.in_(chunk))
                )
                found.update(
                    (person, PersonSettings(missing_list=missing_list))
                    for person, missing_list in rows
                )
        return found

    async def save_person_settings(self, org: str, person: str, settings: PersonSettings) -> None:
        row = {"org": org, "person": person, "missing_list": settings.missing_list}
        async with self._db.write() as conn:
            await conn.execute(self._db.upsert(person_setting_t, ["org", "person"], row))
