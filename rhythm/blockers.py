"""Blockers with a lifecycle: routed to whoever can remove them, answered with a button.

A check-in's key-result update that names a team or a key result raises a blocker (storage
keeps them in the check-in's transaction, see `rhythm.ports.BlockerRepository`); every
change writes an event. `announce` turns events into direct messages (`rhythm.blocker_news`)
written to the outbox once, and the courier delivers them. The people it waits on answer
On it, Not us (and which team instead) or Resolved; each answer is a compare-and-set, so two
leads pressing at once make one change and the second is told who was first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rhythm.blocker_news import answered_notice, may_answer, news, waiting_on_name
from rhythm.checkin import FormPage
from rhythm.courier import Courier
from rhythm.dialogs import DialogContext, DialogKind, Done
from rhythm.errors import CommandError, DrumbeatError, UnknownTeam
from rhythm.forms import REROUTE_FIELD, TEAM_PREFIX, team_options
from rhythm.messages import FieldKind, Form, FormField, FormSection, Notice
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.people import People
from rhythm.ports import Clock, Store
from rhythm.records import LIVE_BLOCKER_STATES, BlockerRecord, BlockerState, TeamBlockers

log = logging.getLogger(__name__)

ANNOUNCE_BATCH = 200


class BlockerGone(DrumbeatError):
    def __init__(self) -> None:
        super().__init__("That blocker is not one I know any more.")


async def team_blockers(
    store: Store,
    org: Organisation,
    team: str,
    key_results: Sequence[str],
    *,
    since: datetime | None = None,
) -> TeamBlockers:
    """The blockers on `key_results` (the team's) and those waiting on the team's subtree;
    resolved ones too when resolved since `since`."""
    found = await store.blockers(
        org.key, key_results=key_results, waiting_on=org.subtree(team), resolved_since=since
    )
    mine = set(key_results)
    raised = tuple(b for b in found if b.key_result in mine)
    waiting = tuple(b for b in found if b.key_result not in mine)
    return TeamBlockers(raised, waiting)


class Blockers:
    def __init__(
        self, *, store: Store, orgs: Organisations, people: People, clock: Clock, courier: Courier
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.people = people
        self.clock = clock
        self.courier = courier

    # ---- telling people -------------------------------------------------------------------

    async def announce(self, org_key: str) -> int:
        """Write the news of every change nobody was told about yet; returns how many
        messages that made. The events are marked told in the same transaction."""
        org = await self.orgs.get(org_key)
        written = 0
        while events := await self.store.unannounced_events(org.key, limit=ANNOUNCE_BATCH):
            messages = [m for event in events for m in news(org, event)]
            told = [e.id for e in events]
            written += await self.store.enqueue(
                org.key, messages, announced=told, at=self.clock.now()
            )
            if len(events) < ANNOUNCE_BATCH:
                break
        return written

    async def announce_soon(self, org_key: str) -> None:
        """Announce now and deliver in the background (a button was pressed, a check-in
        stored): the other side hears within seconds, not at the next tick."""
        if await self.announce(org_key):
            self.courier.deliver_soon(org_key)

    # ---- the buttons ------------------------------------------------------------------------

    async def acknowledge(self, org_key: str, who: str, blocker_id: int) -> Notice:
        org, person, blocker = await self._answerable(org_key, who, blocker_id)
        changed = await self.store.change_blocker(
            org.key, blocker.id, expect=(BlockerState.OPEN, BlockerState.REROUTED),
            to=BlockerState.ACKNOWLEDGED, by=person, at=self.clock.now(),
        )  # fmt: skip
        if changed is None:
            return await self._already(org, blocker.id)
        await self.announce_soon(org.key)
        reporter = org.person[blocker.raised_by].name
        return answered_notice(f"👍 You're on it: I told {reporter}", org, changed)

    async def resolve(self, org_key: str, who: str, blocker_id: int) -> Notice:
        org, person = await self.people.person(org_key, who)
        blocker = await self._blocker(org, blocker_id)
        if person != blocker.raised_by and not may_answer(org, person, blocker):
            raise CommandError(self._not_yours(org, blocker))
        changed = await self.store.change_blocker(
            org.key, blocker.id, expect=LIVE_BLOCKER_STATES, to=BlockerState.RESOLVED,
            by=person, at=self.clock.now(),
        )  # fmt: skip
        if changed is None:
            return await self._already(org, blocker.id)
        await self.announce_soon(org.key)
        return answered_notice("✅ Marked resolved", org, changed)

    async def reroute_form(self, org_key: str, who: str, blocker_id: int) -> FormPage:
        """Not us: which team should it wait on instead?"""
        org, _, blocker = await self._answerable(org_key, who, blocker_id)
        if not blocker.live:
            raise CommandError(await self._already_text(org, blocker))
        return FormPage(self._reroute_form(org, blocker), 0, {})

    async def reroute(
        self, org_key: str, who: str, context: DialogContext, answers: Mapping[str, str | None]
    ) -> Form | Done:
        org, person = await self.people.person(org_key, who)
        blocker = await self._blocker(org, context.subject)
        if blocker.state in (BlockerState.REROUTED, BlockerState.RESOLVED) and not may_answer(
            org, person, blocker
        ):  # moved on since the form opened (sent twice, or another lead was first)
            return Done(await self._already(org, blocker.id))
        if not may_answer(org, person, blocker):
            raise CommandError(self._not_yours(org, blocker))
        raw = (answers.get(REROUTE_FIELD) or "").strip()
        team = org.team.get(raw.removeprefix(TEAM_PREFIX)) or org.find_team(raw)
        error = ""
        if not raw:
            error = "Choose the team it should go to."
        elif team is None:
            error = UnknownTeam(raw, (t.key for t in org.teams)).message
        elif team.key == blocker.waiting_on_team:
            error = f"It already waits on {team.name}: choose another team."
        if error or team is None:
            form = self._reroute_form(org, blocker)
            return form.with_answers({REROUTE_FIELD: raw}).with_errors({REROUTE_FIELD: error})
        changed = await self.store.change_blocker(
            org.key, blocker.id, expect=(BlockerState.OPEN, BlockerState.ACKNOWLEDGED,
                                         BlockerState.REROUTED),
            to=BlockerState.REROUTED, by=person, at=self.clock.now(), waiting_on_team=team.key,
        )  # fmt: skip
        if changed is None:
            return Done(await self._already(org, blocker.id))
        await self.announce_soon(org.key)
        reporter = org.person[blocker.raised_by].name
        return Done(answered_notice(f"↪️ Sent on to {team.name}; {reporter} is told", org, changed))

    def _reroute_form(self, org: Organisation, blocker: BlockerRecord) -> Form:
        reporter = org.person[blocker.raised_by].name
        field = FormField(
            REROUTE_FIELD, "Which team should it go to?", FieldKind.PICK, required=True,
            options=team_options(org), max_length=255,
            hint=f"Its leads get it with the same buttons, and {reporter} is told.",
        )  # fmt: skip
        kr = org.key_result[blocker.key_result]
        return Form(
            title="Not us",
            intro=f"{reporter}'s blocker on {kr.title}",
            sections=(FormSection("", (field,)),),
            context=DialogContext(DialogKind.REROUTE, org.key, blocker.id).dump(),
            submit_label="Send on",
        )

    # ---- reading ------------------------------------------------------------------------------

    async def of_team(
        self, org: Organisation, team: str, *, since: datetime | None = None
    ) -> TeamBlockers:
        """The team's live blockers (and, given `since`, those resolved since then)."""
        today = self.clock.now().astimezone(ZoneInfo(org.team[team].timezone)).date()
        cycle = org.current_cycle(today)
        krs = [
            kr.key
            for o in org.objectives_of_teams(org.subtree(team), cycle.key)
            for kr in org.key_results_in(o.key)
        ]
        return await team_blockers(self.store, org, team, krs, since=since)

    # ---- who may ------------------------------------------------------------------------------

    async def _blocker(self, org: Organisation, blocker_id: int) -> BlockerRecord:
        blocker = await self.store.blocker(org.key, blocker_id)
        if blocker is None or blocker.raised_by not in org.person:
            raise BlockerGone()
        if blocker.key_result not in org.key_result:
            raise BlockerGone()
        return blocker

    async def _answerable(
        self, org_key: str, who: str, blocker_id: int
    ) -> tuple[Organisation, str, BlockerRecord]:
        org, person = await self.people.person(org_key, who)
        blocker = await self._blocker(org, blocker_id)
        if not may_answer(org, person, blocker):
            raise CommandError(self._not_yours(org, blocker))
        return org, person, blocker

    @staticmethod
    def _not_yours(org: Organisation, blocker: BlockerRecord) -> str:
        return f"Only {waiting_on_name(org, blocker)} (its leads) or an admin can answer this."

    async def _already(self, org: Organisation, blocker_id: int) -> Notice:
        blocker = await self._blocker(org, blocker_id)
        return answered_notice(await self._already_text(org, blocker), org, blocker)

    async def _already_text(self, org: Organisation, blocker: BlockerRecord) -> str:
        if blocker.state is BlockerState.RESOLVED:
            by = org.person.get(blocker.resolved_by or "")
            return f"Already resolved{f' by {by.name}' if by else ''}"
        if blocker.state is BlockerState.ACKNOWLEDGED:
            by = org.person.get(blocker.acknowledged_by or "")
            return f"{by.name if by else 'Someone'} is on it already"
        return f"It now waits on {waiting_on_name(org, blocker)}"
