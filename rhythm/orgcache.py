"""Each organisation's tree, cached in the process and checked against the database on every use.

A check costs one small read: the organisation's stamp (its tree and people revisions, bumped
in the same transaction as the change, by whichever process made it). An import changes the
tree revision and the tree is read again; a chat link or a chosen timezone changes the people
revision and only the changed profiles are read and applied. So every process sees another's
change on its next use, and nobody reloads a 10,000-person tree because somebody checked in.

What moves all day (current values, confidences, statuses, prompts) is never taken from here:
it is read from the database where it is used.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from rhythm.errors import UnknownOrganisation
from rhythm.okr import Organisation
from rhythm.ports import OrgRepository, TreeSnapshot
from rhythm.profiles import ChatProfile, with_profiles
from rhythm.records import Stamp


@dataclass(frozen=True, slots=True)
class _Cached:
    snapshot: TreeSnapshot  # the tree as imported, the profiles, and their stamp
    org: Organisation  # the tree with the profiles applied


class Organisations:
    def __init__(self, *, store: OrgRepository) -> None:
        self.store = store
        self._cached: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._reading: dict[str, asyncio.Future[Stamp | None]] = {}

    async def get(self, key: str) -> Organisation:
        """The organisation as the database has it now (UnknownOrganisation if none)."""
        stamp = await self._stamp(key)
        if stamp is None:
            self._cached.pop(key, None)
            raise UnknownOrganisation(key)
        cached = self._cached.get(key)
        if cached is not None and cached.snapshot.stamp == stamp:
            return cached.org
        # One refresh per organisation at a time: a burst of requests after an import waits
        # for one reload instead of starting one each.
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._cached.get(key)
            seen = cached.snapshot.stamp if cached else None
            if (
                cached is None
                or seen is None
                or seen.tree != stamp.tree
                or seen.people > stamp.people
            ):
                cached = await self._load(key)
            elif seen.people < stamp.people:
                cached = await self._refresh_people(key, cached, stamp)
            self._cached[key] = cached
            return cached.org

    async def _stamp(self, key: str) -> Stamp | None:
        """The stamp, read once for all who ask while a read is on its way: fifty requests at
        once cost one round trip, and each still sees what was committed before it asked
        (give or take that one round trip)."""
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self.store.organisation_stamp(key))
            self._reading[key] = reading
            reading.add_done_callback(lambda _: self._reading.pop(key, None))
        return await asyncio.shield(reading)

    async def keys(self) -> list[str]:
        return await self.store.organisation_keys()

    async def _load(self, key: str) -> _Cached:
        snapshot = await self.store.load_tree(key)
        if snapshot is None:
            raise UnknownOrganisation(key)
        return _Cached(snapshot, with_profiles(snapshot.tree, snapshot.profiles.values()))

    async def _refresh_people(self, key: str, cached: _Cached, stamp: Stamp) -> _Cached:
        seen = cached.snapshot.stamp
        changed = await self.store.profiles_since(key, seen.people)
        profiles: dict[str, ChatProfile] = {**cached.snapshot.profiles}
        profiles.update((p.person, p) for p in changed)
        snapshot = replace(cached.snapshot, profiles=profiles, stamp=Stamp(seen.tree, stamp.people))
        # Profiles apply over the tree as imported (a reset timezone falls back to the file's),
        # so the changed people are worked out again from it; the others are kept as they are.
        base = {p.email: p for p in snapshot.tree.people if p.email in {c.person for c in changed}}
        redone = with_profiles(
            replace(snapshot.tree, people=tuple(base.values())), (profiles[e] for e in base)
        )
        fresh = {p.email: p for p in redone.people}
        people = tuple(fresh.get(p.email, p) for p in cached.org.people)
        return _Cached(snapshot, replace(cached.org, people=people))
