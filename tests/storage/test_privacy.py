"""One person's data: everything stored about them exported, and erased in one transaction so
that afterwards no row of any table mentions their email or chat ids (both backends)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, MetaData, String, Table, Text, cast, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from rhythm.messages import Action, Notice
from rhythm.nudges import NUDGE
from rhythm.okr import InitiativeStatus, Objective, Organisation
from rhythm.ports import Answering
from rhythm.records import BlockerState, Conversation, Draft, Outgoing, PersonSettings, Spend
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, CAI, DEV, MONDAY, WEEK, acme, due, update, weekly

BEN_SLACK = "U07BEN1234"
BEN_TEAMS = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"  # any case: Teams ids are compared lower
ANA_SLACK = "U07ANA0001"
LEASE = timedelta(minutes=5)


def organisation(key: str = "acme") -> Organisation:
    """Acme with chat ids that no other text contains, Ben an admin owning an objective and
    an initiative too."""
    tree = acme(key)
    people = tuple(
        dataclasses.replace(p, name="Ben Martin", slack_user_id=BEN_SLACK, teams_user_id=BEN_TEAMS)
        if p.email == BEN
        else dataclasses.replace(p, slack_user_id=ANA_SLACK)
        if p.email == ANA
        else p
        for p in tree.people
    )
    initiatives = tuple(
        dataclasses.replace(i, owner=BEN) if i.key == "i-ci" else i for i in tree.initiatives
    )
    objectives = (*tree.objectives, Objective("o-ben", "Ben's own", "2026-Q1", owner_person=BEN))
    return dataclasses.replace(
        tree, people=people, initiatives=initiatives, objectives=objectives, admins=(BEN, ANA)
    )


# ---- what is stored about Ben -----------------------------------------------------------


@dataclass
class World:
    ben_checkins: list[int]
    ana_checkin: int
    cai_checkin: int
    ben_prompt: int
    ben_blocker: int
    ana_blocker: int


async def check_in(
    store: SqlStore, key: str, draft: Any, *, hours: int = 0, prompt: int | None = None
) -> int:
    saved = await store.save_checkin(
        "acme", draft, period=WEEK, answering=Answering(prompt), idempotency_key=key,
        submitted_at=MONDAY + timedelta(hours=hours),
    )  # fmt: skip
    return saved.id


async def ben_everywhere(store: SqlStore) -> World:
    """Ben in every table that can hold something about a person, and mentioned elsewhere."""
    await store.save_organisation(organisation())
    await store.link_workspace("slack", "T0ACME", "acme")
    await store.link_chat_user("acme", BEN, platform="slack", user_id=BEN_SLACK)
    await store.link_chat_user("acme", BEN, platform="teams", user_id=BEN_TEAMS.lower(),
                               timezone="Europe/Berlin")  # fmt: skip
    await store.set_timezone("acme", BEN, "Europe/Lisbon")
    await store.mark_unreachable("acme", BEN, reason=f"account_inactive {BEN_SLACK}", at=MONDAY)
    await store.save_person_settings("acme", BEN, PersonSettings(missing_list=False))
    await store.save_draft("acme", BEN, "weekly|2026-W10|", Draft({"kr-lead.value": "7"}))
    await store.save_conversation(Conversation(
        "teams", BEN_TEAMS.lower(),
        {"user": {"id": "29:1BenBotId", "aadObjectId": BEN_TEAMS, "name": "Ben Martin"}},
        "acme", BEN,
    ))  # fmt: skip
    await store.subscribe("acme", "product", "slack:C0PRODUCT", by=BEN)

    # Prompts: this week's answered, next week's not sent yet, last week's failed.
    await store.add_prompts("acme", [due(BEN), due(BEN, period="2026-W11",
                                                   at=MONDAY + timedelta(weeks=1)),
                                     due(BEN, period="2026-W09", at=MONDAY - timedelta(weeks=1)),
                                     due(ANA)])  # fmt: skip
    claimed = await store.claim_unsent("acme", now=MONDAY, worker="w", limit=10, lease=LEASE)
    mine = {p.period: p.id for p in claimed if p.person == BEN}
    for p in claimed:
        await store.mark_sent(p.id, at=MONDAY, message_ref=f"D0{p.id}:1700000000.{p.id}")
    await store.mark_failed(mine["2026-W09"], at=MONDAY, error=f"users_not_found {BEN}")

    # Ben's check-in and its edit: words, a blocker on the platform team, an initiative.
    said = dataclasses.replace(
        update("kr-lead", 7), moved="Faster CI", blockers="DBA access", blocked_by_team="platform",
        next_step="Ask Dev",
    )  # fmt: skip
    draft = weekly(BEN, said, update("kr-launch", 0), notes={"win": "Shipped"})
    first = await check_in(store, "b1", draft, prompt=mine[WEEK])
    draft = weekly(BEN, said, initiatives=(("i-ci", InitiativeStatus.IN_PROGRESS),),
                   notes={"win": "Shipped!"})  # fmt: skip
    edit = await check_in(store, "b2", draft, hours=1)
    [ben_blocker] = await store.blockers("acme", key_results=["kr-lead"])
    await store.change_blocker("acme", ben_blocker.id, expect=(BlockerState.OPEN,),
                               to=BlockerState.ACKNOWLEDGED, by=DEV, at=MONDAY)  # fmt: skip

    # Ana is blocked on Ben's key result; Ben takes it, then resolves it.
    blocked = dataclasses.replace(update("kr-nps", 20), blocked_by_kr="kr-lead", blockers="API")
    ana = await check_in(store, "a1", weekly(ANA, blocked), hours=2)
    [ana_blocker] = await store.blockers("acme", key_results=["kr-nps"])
    await store.change_blocker("acme", ana_blocker.id, expect=(BlockerState.OPEN,),
                               to=BlockerState.ACKNOWLEDGED, by=BEN, at=MONDAY)  # fmt: skip
    await store.change_blocker("acme", ana_blocker.id, expect=(BlockerState.ACKNOWLEDGED,),
                               to=BlockerState.RESOLVED, by=BEN, at=MONDAY)  # fmt: skip

    # Cai thanks him by email and Slack mention; Ana's list of who missed names him.
    thanks = {"shoutout": f"Thanks Ben@Acme.test and <@{BEN_SLACK}>! cc {ANA}"}
    cai = await check_in(store, "c1", weekly(CAI, update("kr-vague", None, 5), notes=thanks))
    await store.enqueue("acme", [
        Outgoing(f"blocker:1:{BEN}", BEN, Notice("👍 Dev is on it", ("Your blocker...",))),
        Outgoing(f"missing:r-weekly:{WEEK}:{ANA}", ANA, Notice(
            "📋 1 of your people has not checked in",
            ("**Ben Martin** · Product",),
            (Action(NUDGE, "Nudge Ben", str(mine[WEEK])), Action("digest:open", "Digest", "p")),
        )),
    ], at=MONDAY)  # fmt: skip
    nudge = Notice("👋 Ana asked me to remind you")
    await store.nudge("acme", Spend(BEN, WEEK, f"nudge:{mine[WEEK]}", 3, MONDAY),
                      Outgoing(f"nudge:{mine[WEEK]}", BEN, nudge))  # fmt: skip

    # Ben installed the Slack app in Acme's workspace (slack_sdk's own table).
    async with store.engine.begin() as conn:
        installations = await conn.run_sync(lambda sync: reflected(sync)["slack_installations"])
        await conn.execute(insert(installations).values(
            client_id="111.222", app_id="A0APP", team_id="T0ACME", team_name="Acme",
            bot_token="xoxb-bot", user_id=BEN_SLACK, user_token="xoxp-ben-secret",
            user_scopes="search:read", is_enterprise_install=False,
            installed_at=datetime(2026, 3, 1),
        ))  # fmt: skip
    return World([first, edit], ana, cai, mine[WEEK], ben_blocker.id, ana_blocker.id)


# ---- looking for him everywhere ---------------------------------------------------------


def reflected(sync: Connection) -> dict[str, Table]:
    found = MetaData()
    found.reflect(bind=sync)
    return dict(found.tables)


async def mentions_anywhere(engine: AsyncEngine, needles: Iterable[str]) -> list[str]:
    """Every text and JSON value of every row of every table in the database that contains
    one of `needles` (case-insensitively): "table.column: value"."""
    wanted = [n.lower() for n in needles]
    found: list[str] = []
    async with engine.connect() as conn:
        tables = await conn.run_sync(reflected)
        for table in tables.values():
            columns = [
                cast(col, Text).label(col.name) if isinstance(col.type, JSON) else col
                for col in table.columns
                if isinstance(col.type, String | JSON)
            ]
            if not columns:
                continue
            for row in (await conn.execute(select(*columns))).mappings():
                found += [
                    f"{table.name}.{name}: {value}"
                    for name, value in row.items()
                    if value is not None and any(n in str(value).lower() for n in wanted)
                ]
    return found


BEN_IDS = (BEN, BEN_SLACK, BEN_TEAMS)


# ---- export -----------------------------------------------------------------------------


async def test_the_export_holds_everything_about_the_person(store: SqlStore) -> None:
    world = await ben_everywhere(store)

    data = await store.person_data("acme", " Ben@Acme.test ")

    assert json.loads(json.dumps(data)) == data  # plain JSON values
    assert (data["organisation"], data["email"], data["admin"]) == ("acme", BEN, True)
    tables = data["tables"]
    assert [r["name"] for r in tables["person"]] == ["Ben Martin"]
    assert [(m["team"], m["role"]) for m in tables["membership"]] == [("product", "member")]
    assert len(tables["time_off"]) == 2
    [profile] = tables["chat_profile"]
    assert (profile["slack_user_id"], profile["chosen_timezone"], profile["unreachable"]) == (
        BEN_SLACK, "Europe/Lisbon", f"account_inactive {BEN_SLACK}",
    )  # fmt: skip
    assert tables["person_setting"] == [{"org": "acme", "person": BEN, "missing_list": False}]
    assert [d["answers"] for d in tables["form_draft"]] == [{"kr-lead.value": "7"}]
    assert [c["reference"]["user"]["id"] for c in tables["conversation"]] == ["29:1BenBotId"]
    assert sorted(p["period"] for p in tables["prompt"]) == ["2026-W09", WEEK, "2026-W11"]
    assert [c["id"] for c in tables["checkin"]] == world.ben_checkins
    assert tables["checkin"][1]["notes"] == {"win": "Shipped!"}
    assert tables["checkin"][0]["submitted_at"] == "2026-03-02T09:00:00+00:00"
    assert {u["key_result"] for u in tables["kr_update"]} == {"kr-lead", "kr-launch"}
    assert [u["initiative"] for u in tables["initiative_update"]] == ["i-ci"]
    assert [b["id"] for b in tables["blocker"]] == [world.ben_blocker, world.ana_blocker]
    assert {e["by"] for e in tables["blocker_event"]} == {None, DEV, BEN}  # on his, by him
    assert [m["key"] for m in tables["outbox"]] == [f"blocker:1:{BEN}", f"nudge:{world.ben_prompt}"]
    assert [n["key"] for n in tables["nudge"]] == [f"nudge:{world.ben_prompt}"]
    assert [s["channel"] for s in tables["subscription"]] == ["slack:C0PRODUCT"]
    assert [k["key"] for k in tables["key_result"]] == ["kr-lead", "kr-launch"]
    assert [o["key"] for o in tables["objective"]] == ["o-ben"]
    assert [i["key"] for i in tables["initiative"]] == ["i-ci"]
    [installed] = tables["slack_installations"]
    assert (installed["team_id"], installed["user_id"]) == ("T0ACME", BEN_SLACK)
    assert "xoxp-ben-secret" not in json.dumps(data)  # tokens are secrets, not personal data
    # Elsewhere: Cai's note names him (Ana's list names him too, by name only).
    assert data["mentions"] == [
        {"table": "checkin", "key": {"id": world.cai_checkin}, "columns": ["notes"]}
    ]
    assert await store.person_data("globex", BEN) == {
        "organisation": "globex", "email": BEN, "admin": False,
        "tables": {name: [] for name in tables if name != "slack_installations"},
        "mentions": [],
    }  # fmt: skip


# ---- erase ------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [False, True], ids=["deleted", "kept-anonymous"])
async def test_after_erase_no_row_mentions_the_person(store: SqlStore, keep: bool) -> None:
    await ben_everywhere(store)
    assert len(await mentions_anywhere(store.engine, BEN_IDS)) > 30  # the scan sees them

    counts = await store.erase_person("acme", BEN, keep_aggregates=keep)

    assert await mentions_anywhere(store.engine, BEN_IDS) == []
    assert "Ben Martin" not in str(await mentions_anywhere(store.engine, ["Ben Martin"]))
    assert await store.person_data("acme", BEN) == {
        "organisation": "acme", "email": BEN, "admin": False,
        "tables": {name: [] for name in (await store.person_data("acme", DEV))["tables"]},
        "mentions": [],
    }  # fmt: skip
    assert counts["person deleted"] == 1
    assert counts["membership deleted"] == 1
    assert counts["chat_profile deleted"] == 1
    assert counts["conversation deleted"] == 1
    assert counts["key_result anonymised"] == 2
    assert counts["organisation anonymised"] == 1
    assert counts["checkin mentions erased"] == 1  # Cai's note
    assert counts["outbox mentions erased"] == 1  # Ana's list
    assert counts["slack_installations anonymised"] == 1
    if keep:
        assert counts["checkin anonymised"] == 2
        assert (counts["prompt anonymised"], counts["prompt deleted"]) == (2, 1)  # unsent: gone
    else:
        assert (counts["checkin deleted"], counts["prompt deleted"]) == (2, 3)
    assert all(n > 0 for n in counts.values())


async def test_erase_keeps_what_others_own_and_said(store: SqlStore) -> None:
    world = await ben_everywhere(store)
    before = await store.organisation_stamp("acme")

    await store.erase_person("acme", BEN)

    tree = await store.load_organisation("acme")
    assert tree is not None
    assert BEN not in tree.person
    assert tree.admins == (ANA,)
    assert (tree.key_result["kr-lead"].owner, tree.objective["o-ben"].owner_person) == (None, None)
    stamp = await store.organisation_stamp("acme")
    assert before is not None
    assert stamp is not None
    assert stamp.tree > before.tree  # every process reads the tree again
    assert [c.id for c in await store.checkins_page("acme")] == [world.ana_checkin,
                                                                 world.cai_checkin]  # fmt: skip
    [cai] = await store.checkins_page("acme", people=[CAI])
    assert cai.draft.notes == {"shoutout": f"Thanks [erased] and <@[erased]>! cc {ANA}"}
    # Ana's blocker stays resolved, by someone anonymous; Ben's own is gone.
    ana_blocker = await store.blocker("acme", world.ana_blocker)
    assert ana_blocker is not None
    assert ana_blocker.state is BlockerState.RESOLVED
    assert ana_blocker.resolved_by is not None
    assert ana_blocker.resolved_by.startswith("erased-")
    assert ana_blocker.acknowledged_by == ana_blocker.resolved_by
    assert await store.blocker("acme", world.ben_blocker) is None
    # Ana's list: his name and his Nudge button gone, the rest kept.
    claimed = await store.claim_outbox("acme", now=MONDAY, worker="w", limit=10, lease=LEASE)
    [listed] = [m for m in claimed if m.person == ANA]
    assert listed.notice.lines == ("**[erased]** · Product",)
    assert [a.label for a in listed.notice.actions] == ["Digest"]
    assert [s.created_by.startswith("erased-") for s in await store.subscriptions("acme")] == [True]
    # The OKR file still has him: importing it again brings him back (the README says so).
    await store.save_organisation(organisation())
    again = await store.load_organisation("acme")
    assert again is not None
    assert BEN in again.person


async def test_kept_aggregates_keep_values_and_participation_without_words(
    store: SqlStore,
) -> None:
    world = await ben_everywhere(store)
    series_before = await store.kr_series("acme", ["kr-lead"], since=MONDAY - timedelta(days=1),
                                          until=MONDAY + timedelta(days=7))  # fmt: skip

    counts = await store.erase_person("acme", BEN, keep_aggregates=True)

    [kept] = await store.checkins_page("acme", key_results=["kr-lead"])
    assert kept.id == world.ben_checkins[1]
    assert kept.person.startswith("erased-")
    assert kept.draft.notes == {}
    [lead] = kept.draft.kr_updates
    assert (lead.value, lead.confidence, lead.status, lead.blocked_by_team) == (
        7, 7, update("kr-lead", 7).status, "platform",
    )  # fmt: skip
    assert (lead.moved, lead.blockers, lead.next_step) == ("", "", "")
    assert kept.draft.initiatives == (("i-ci", InitiativeStatus.IN_PROGRESS),)
    revisions = await store.checkins_page("acme", people=[kept.person], revisions=True)
    assert [c.id for c in revisions] == world.ben_checkins
    assert revisions[0].prompt_id == world.ben_prompt  # still the prompt it answered
    series = await store.kr_series("acme", ["kr-lead"], since=MONDAY - timedelta(days=1),
                                   until=MONDAY + timedelta(days=7))  # fmt: skip
    assert [p.value for p in series["kr-lead"]] == [p.value for p in series_before["kr-lead"]]
    # The answered and the failed prompt stay (participation), the unsent one goes.
    assert counts["prompt anonymised"] == 2
    assert counts["prompt deleted"] == 1
    answered = await store.get_prompt("acme", world.ben_prompt)
    assert answered is not None
    assert answered.person == kept.person
    assert answered.answered_at is not None
    assert answered.message_ref is None
    [blocker] = await store.blockers("acme", key_results=["kr-lead"])
    assert (blocker.raised_by, blocker.text, blocker.acknowledged_by) == (kept.person, "", DEV)
    # One pseudonym per erasure, the same everywhere in it.
    other = await store.blocker("acme", world.ana_blocker)
    assert other is not None
    assert other.resolved_by == kept.person


async def test_erase_stays_in_its_organisation_and_spares_lookalikes(store: SqlStore) -> None:
    await store.save_organisation(organisation())
    await store.save_organisation(organisation("globex"))
    note = {"who": f"ask diana@acme.test, not {ANA} ({ANA_SLACK}, {ANA_SLACK}X)."}
    for org in ("acme", "globex"):
        await store.save_checkin(org, weekly(CAI, update("kr-vague", None, 5), notes=note),
                                 period=WEEK, answering=Answering(), submitted_at=MONDAY,
                                 idempotency_key=f"c-{org}")  # fmt: skip
        await store.save_checkin(org, weekly(ANA, update("kr-nps", 20)), period=WEEK,
                                 answering=Answering(), submitted_at=MONDAY,
                                 idempotency_key=f"a-{org}")  # fmt: skip

    await store.erase_person("acme", ANA)

    [acme_note] = await store.checkins_page("acme", people=[CAI])
    assert acme_note.draft.notes == {
        "who": f"ask diana@acme.test, not [erased] ([erased], {ANA_SLACK}X)."
    }
    [globex_note] = await store.checkins_page("globex", people=[CAI])
    assert globex_note.draft.notes == note  # Globex's Ana is Globex's to erase
    assert [c.person for c in await store.checkins_page("globex")] == [CAI, ANA]
    globex = await store.load_organisation("globex")
    assert globex is not None
    assert ANA in globex.person
    assert globex.admins == (BEN, ANA)


async def test_erasing_someone_unknown_changes_nothing(store: SqlStore) -> None:
    await store.save_organisation(organisation())
    counts = await store.erase_person("acme", "nobody@acme.test")
    assert counts == {}
    tree = await store.load_organisation("acme")
    assert tree is not None
    assert len(tree.people) == 4
