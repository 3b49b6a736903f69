"""digest_facts on a small handmade history, checked fact by fact."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.digest import build_digest
from rhythm.digest_model import DigestScope
from rhythm.forms import CheckInDraft
from rhythm.ports import Answering
from rhythm.records import DigestFacts, NoteFact, PromptFact, Snapshot
from rhythm.status import Status
from storage import digest_facts
from storage.store import SqlStore
from tests.storage.builders import (
    ANA,
    BEN,
    CAI,
    DEV,
    LAST_WEEK,
    MONDAY,
    WEEK,
    acme,
    due,
    update,
    weekly,
)  # fmt: skip

LEASE = timedelta(minutes=5)
H = timedelta(hours=1)
EVERYONE = [ANA, BEN, CAI, DEV]
KRS = ["kr-nps", "kr-lead", "kr-launch", "kr-uptime", "kr-vague"]


def week_start(period: str) -> datetime:
    return MONDAY + timedelta(weeks=int(period[-2:]) - 10)


class History:
    """Writes prompts and check-ins the way the app does (add, claim, send, answer)."""

    def __init__(self, store: SqlStore, org: str = "acme") -> None:
        self.store, self.org, self.keys = store, org, 0

    async def prompt(self, person: str, period: str, *, answer: CheckInDraft | None = None,
                     failed: bool = False, is_lead: bool = False) -> int:  # fmt: skip
        at = week_start(period)
        await self.store.add_prompts(self.org, [due(person, period=period, at=at,
                                                     is_lead=is_lead)])  # fmt: skip
        [prompt] = await self.store.claim_unsent(self.org, now=at, worker="w", limit=1,
                                                 lease=LEASE)  # fmt: skip
        if failed:
            await self.store.mark_failed(prompt.id, at=at, error="channel_not_found")
            return prompt.id
        await self.store.mark_sent(prompt.id, at=at, message_ref="m")
        if answer is not None:
            await self.checkin(answer, period, prompt_id=prompt.id, at=at + H)
        return prompt.id

    async def checkin(self, draft: CheckInDraft, period: str, *, prompt_id: int | None = None,
                      at: datetime | None = None) -> None:  # fmt: skip
        self.keys += 1
        await self.store.save_checkin(
            self.org, draft, period=period, answering=Answering(prompt_id=prompt_id),
            submitted_at=at or week_start(period) + 3 * H, idempotency_key=f"k{self.keys}",
        )  # fmt: skip


@pytest.fixture
async def history(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    await store.save_organisation(acme("other"))
    h = History(store)
    # Ana, lead: answered W07, missed W08, answered W09 and W10.
    await h.prompt(ANA, "2026-W07", answer=weekly(ANA, update("kr-nps", 11)), is_lead=True)
    await h.prompt(ANA, "2026-W08", is_lead=True)
    await h.prompt(ANA, LAST_WEEK, answer=weekly(ANA, update("kr-nps", 15)), is_lead=True)
    await h.prompt(ANA, WEEK, answer=weekly(ANA, update("kr-nps", 20, 8)), is_lead=True)
    # Ben: answered W08..W10, then edited W10 from a command (a revision: no contribution).
    await h.prompt(BEN, "2026-W08", answer=weekly(BEN, update("kr-lead", 9.5)))
    await h.prompt(BEN, LAST_WEEK, answer=weekly(BEN, update("kr-lead", 9, 6)))
    await h.prompt(
        BEN,
        WEEK,
        answer=weekly(
            BEN, update("kr-lead", 8, blocked_by_team="platform"), update("kr-launch", 0)
        ),
    )
    await h.checkin(
        weekly(BEN, update("kr-lead", 7, 4, status=Status.AT_RISK, next_step="ask platform")),
        WEEK,
        at=MONDAY + 5 * H,
    )
    # Cai: answered W09, W10 still open.
    await h.prompt(CAI, LAST_WEEK, answer=weekly(CAI, update("kr-vague", None, 5)))
    await h.prompt(CAI, WEEK)
    # Dev: missed W08, answered W09, W10 undeliverable; checked in spontaneously, blocked by
    # product.
    await h.prompt(DEV, "2026-W08")
    await h.prompt(DEV, LAST_WEEK, answer=weekly(DEV, update("kr-uptime", 99.6)))
    await h.prompt(DEV, WEEK, failed=True, is_lead=True)
    await h.checkin(weekly(DEV, update("kr-uptime", 99.7, 9, blocked_by_team="product")), WEEK)
    # Daily pulses: notes, with an edit; an empty one.
    day = "2026-03-02"
    pulse = CheckInDraft(CAI, RhythmKind.DAILY, notes={"focus": "deploys", "blockers": ""},
                         blocked_by_team="platform")  # fmt: skip
    await h.checkin(CheckInDraft(CAI, RhythmKind.DAILY, notes={"focus": "draft"}), day)
    await h.checkin(pulse, day, at=MONDAY + 4 * H)
    await h.checkin(CheckInDraft(BEN, RhythmKind.DAILY, notes={"focus": "  "}), day)
    # Another organisation with the same keys: none of it may show up.
    other = History(store, "other")
    await other.prompt(
        BEN, WEEK, answer=weekly(BEN, update("kr-lead", 100, blocked_by_team="product"))
    )
    await other.checkin(weekly(ANA, update("kr-nps", 99)), WEEK)
    await other.prompt(CAI, LAST_WEEK)
    return store


async def weekly_facts(store: SqlStore, *, krs: list[str] = KRS, people: list[str] = EVERYONE,
                       teams: tuple[str, ...] = ("product",),
                       now: datetime | None = None) -> DigestFacts:  # fmt: skip
    return await store.digest_facts(
        "acme", kind=RhythmKind.WEEKLY, period=WEEK, previous=LAST_WEEK, key_results=krs,
        people=people, teams=teams, now=now,
    )  # fmt: skip


@pytest.fixture(params=["small lists in SQL", "large lists in Python"])
def in_list_limit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "large lists in Python":
        monkeypatch.setattr(digest_facts, "IN_LIST_LIMIT", 0)


@pytest.mark.usefixtures("in_list_limit")
async def test_current_is_the_latest_revision_per_key_result(history: SqlStore) -> None:
    facts = await weekly_facts(history)

    assert set(facts.current) == {"kr-nps", "kr-lead", "kr-launch", "kr-uptime"}
    assert facts.current["kr-lead"] == Snapshot(
        person=BEN, submitted_at=MONDAY + 5 * H, value=7, confidence=4, status=Status.AT_RISK,
        next_step="ask platform", value_before=9,
    )  # fmt: skip
    assert (facts.current["kr-nps"].value, facts.current["kr-nps"].confidence) == (20, 8)
    assert facts.current["kr-uptime"].blocked_by_team == "product"
    assert all(s.submitted_at.tzinfo == UTC for s in facts.current.values())


@pytest.mark.usefixtures("in_list_limit")
async def test_each_update_knows_where_its_key_result_stood_before_the_period(
    history: SqlStore,
) -> None:
    """What the digest's change starts from: the value before the period's first update of
    the key result, kept by later revisions, and the imported value in its first period."""
    facts = await weekly_facts(history)

    assert facts.current["kr-lead"].value_before == 9  # W09's; W10's revision kept it
    assert facts.current["kr-nps"].value_before == 15
    assert facts.current["kr-uptime"].value_before == 99.6  # a spontaneous check-in too
    launch = acme().key_result["kr-launch"].metric
    assert launch is not None
    assert facts.current["kr-launch"].value_before == launch.current  # never updated before


@pytest.mark.usefixtures("in_list_limit")
async def test_previous_is_the_period_before(history: SqlStore) -> None:
    facts = await weekly_facts(history)

    assert {k: s.value for k, s in facts.previous.items()} == {
        "kr-nps": 15, "kr-lead": 9, "kr-uptime": 99.6, "kr-vague": None,
    }  # fmt: skip
    assert facts.previous["kr-vague"].confidence == 5


@pytest.mark.usefixtures("in_list_limit")
async def test_only_the_asked_key_results_and_people(history: SqlStore) -> None:
    facts = await weekly_facts(history, krs=["kr-lead", "kr-gone"], people=[BEN, CAI])

    assert set(facts.current) == {"kr-lead"}
    assert set(facts.previous) == {"kr-lead"}
    assert [p.person for p in facts.prompts] == [BEN, CAI]
    assert facts.spontaneous == {}  # Ben's edit is a revision of his answer
    assert facts.streaks == {BEN: 3, CAI: 1}
    assert facts.values == {"kr-lead": 7}  # where it stands now: the edit's value


@pytest.mark.usefixtures("in_list_limit")
async def test_participation(history: SqlStore) -> None:
    facts = await weekly_facts(history)

    deadline = MONDAY + timedelta(days=2)
    assert list(facts.prompts) == [
        PromptFact(ANA, True, deadline, MONDAY + H),
        PromptFact(DEV, True, deadline, None, "channel_not_found"),
        PromptFact(BEN, False, deadline, MONDAY + H),
        PromptFact(CAI, False, deadline, None),
    ]
    assert facts.spontaneous == {DEV: 1}  # Ben's edit is no contribution of its own


@pytest.mark.usefixtures("in_list_limit")
async def test_asked_before_is_who_had_a_prompt_of_the_period_before(history: SqlStore) -> None:
    facts = await weekly_facts(history)
    assert facts.asked_before == {ANA, BEN, CAI, DEV}  # not the other organisation's
    only = await weekly_facts(history, people=[BEN])
    assert only.asked_before == {BEN}


@pytest.mark.usefixtures("in_list_limit")
async def test_streaks_count_answers_since_the_last_miss(history: SqlStore) -> None:
    pending = await weekly_facts(history)
    after_deadline = await weekly_facts(history, now=MONDAY + timedelta(days=3))

    # Ana missed W08; Cai's W10 prompt is still open; Dev's W10 prompt failed to deliver.
    assert pending.streaks == {ANA: 2, BEN: 3, CAI: 1, DEV: 1}
    assert after_deadline.streaks == {ANA: 2, BEN: 3, DEV: 1}  # Cai has now missed W10


@pytest.mark.usefixtures("in_list_limit")
async def test_blocking_others_uses_each_key_results_latest_update(history: SqlStore) -> None:
    blocking_product = (await weekly_facts(history, teams=("product", "company"))).blocking_others
    blocking_platform = (await weekly_facts(history, teams=("platform",))).blocking_others

    [(kr, team, snapshot)] = blocking_product
    assert (kr, team, snapshot.person, snapshot.value) == ("kr-uptime", "platform", DEV, 99.7)
    # Ben said platform blocked kr-lead, then edited that away: the latest revision wins.
    assert blocking_platform == ()


@pytest.mark.usefixtures("in_list_limit")
async def test_notes_are_each_persons_latest_non_empty_answers(history: SqlStore) -> None:
    facts = await history.digest_facts(
        "acme", kind=RhythmKind.DAILY, period="2026-03-02", previous="2026-03-01",
        key_results=KRS, people=EVERYONE, teams=["product"],
    )  # fmt: skip

    assert list(facts.notes) == [
        NoteFact(CAI, MONDAY + 4 * H, {"focus": "deploys", "blockers": ""}, "platform")
    ]
    assert (await weekly_facts(history)).notes == ()


@pytest.mark.usefixtures("in_list_limit")
async def test_the_digest_counts_each_person_once_from_these_facts(history: SqlStore) -> None:
    """Dev's prompt could not be delivered and he checked in anyway: checked in, not
    unreachable, and not counted twice; Ben's edit is still one check-in."""
    now = MONDAY + 2 * H
    facts = await weekly_facts(history, now=now)
    days = (date(2026, 3, 2), date(2026, 3, 8))
    scope = DigestScope("company", RhythmKind.WEEKLY, WEEK, LAST_WEEK, "2026-Q1", days[0], days)
    company = build_digest(acme(), scope, facts, now=now)

    p = company.participation
    assert (p.on_time, p.late, p.spontaneous) == (2, 0, 1)  # Ana and Ben; Dev
    assert (p.missing, p.pending, p.unreachable, p.on_leave) == ((), ("Cai",), (), ())
    assert p.tally == "3/4 checked in"
    shown = [o for d in (company, *company.details) for o in d.objectives]
    updated = {k.key for o in shown for k in o.key_results if k.checked_in}
    assert updated == {"kr-nps", "kr-lead", "kr-launch", "kr-uptime"}  # by the three of them


async def test_nothing_asked_nothing_found(history: SqlStore) -> None:
    facts = await history.digest_facts(
        "acme", kind=RhythmKind.WEEKLY, period=WEEK, previous=LAST_WEEK, key_results=[],
        people=[], teams=[],
    )  # fmt: skip
    assert facts == DigestFacts()


async def test_an_organisation_sees_only_its_own_facts(history: SqlStore) -> None:
    facts = await history.digest_facts(
        "other", kind=RhythmKind.WEEKLY, period=WEEK, previous=LAST_WEEK, key_results=KRS,
        people=EVERYONE, teams=["product"],
    )  # fmt: skip

    assert {k: s.value for k, s in facts.current.items()} == {"kr-lead": 100, "kr-nps": 99}
    assert facts.previous == {}
    assert [p.person for p in facts.prompts] == [BEN]
    assert facts.spontaneous == {ANA: 1}
    assert facts.streaks == {BEN: 1}
    assert [kr for kr, _, _ in facts.blocking_others] == ["kr-lead"]
    assert await history.digest_facts(
        "nobody", kind=RhythmKind.WEEKLY, period=WEEK, previous=LAST_WEEK, key_results=KRS,
        people=EVERYONE, teams=["product"],
    ) == DigestFacts()  # fmt: skip
