"""What chat platforms add to storage: linked ids and timezones, unreachable people,
subscriptions, workspaces, conversation references, form drafts, batched answers and sends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from rhythm.okr import Cycle, KeyResult, Membership, Metric, Objective, Organisation, Person, Team
from rhythm.ports import Answering
from rhythm.records import Conversation, Draft, KrState, Subscription, Unreachable
from rhythm.status import Status
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, CAI, DEV, MONDAY, WEEK, acme, due, update, weekly

LEASE = timedelta(minutes=5)


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


async def loaded(store: SqlStore, key: str = "acme") -> Organisation:
    org = await store.load_organisation(key)
    assert org is not None
    return org


# ---- linked chat ids and timezones -------------------------------------------------------


async def test_linked_chat_ids_show_in_the_loaded_tree(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user("acme", DEV, platform="slack", user_id="U-DEV")
    await acme_store.link_chat_user("acme", CAI, platform="teams", user_id="AAD-Cai")

    org = await loaded(acme_store)

    assert org.person[DEV].slack_user_id == "U-DEV"
    assert org.person[CAI].teams_user_id == "AAD-Cai"
    assert org.person_by_chat_id("slack", "U-DEV") == DEV
    assert org.person_by_chat_id("teams", "aad-cai") == CAI
    assert org.person[DEV].teams_user_id is None  # the other platform's id is left alone


async def test_a_platform_link_adds_to_the_other_platform_s(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user("acme", DEV, platform="slack", user_id="U-DEV")
    await acme_store.link_chat_user("acme", DEV, platform="teams", user_id="aad-dev")

    dev = (await loaded(acme_store)).person[DEV]

    assert (dev.slack_user_id, dev.teams_user_id) == ("U-DEV", "aad-dev")


async def test_the_file_s_chat_ids_win_over_linked_ones(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user("acme", ANA, platform="slack", user_id="U-OTHER")

    assert (await loaded(acme_store)).person[ANA].slack_user_id == "U1"  # from the file


async def test_an_unknown_platform_is_refused(acme_store: SqlStore) -> None:
    with pytest.raises(ValueError, match="discord"):
        await acme_store.link_chat_user("acme", DEV, platform="discord", user_id="D1")

    assert await acme_store.chat_profiles("acme") == []


async def test_a_chat_timezone_fills_only_an_inherited_timezone(acme_store: SqlStore) -> None:
    # Ana's file timezone is her team's (inherited); Cai's (Tokyo) differs from platform's.
    await acme_store.link_chat_user(
        "acme", ANA, platform="slack", user_id="U1", timezone="America/Chicago"
    )
    await acme_store.link_chat_user(
        "acme", CAI, platform="teams", user_id="aad-cai", timezone="Europe/Berlin"
    )

    org = await loaded(acme_store)

    assert org.person[ANA].timezone == "America/Chicago"
    assert org.person[CAI].timezone == "Asia/Tokyo"
    assert org.person[BEN].timezone == "Europe/Paris"  # no profile at all


async def test_a_link_without_timezone_keeps_the_chat_timezone(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user(
        "acme", ANA, platform="slack", user_id="U1", timezone="America/Chicago"
    )
    await acme_store.link_chat_user("acme", ANA, platform="teams", user_id="aad-ana")

    ana = (await loaded(acme_store)).person[ANA]

    assert (ana.timezone, ana.teams_user_id) == ("America/Chicago", "aad-ana")


async def test_a_chosen_timezone_wins_and_none_resets_it(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user(
        "acme", ANA, platform="slack", user_id="U1", timezone="America/Chicago"
    )
    await acme_store.set_timezone("acme", ANA, "Asia/Kolkata")
    await acme_store.set_timezone("acme", CAI, "Europe/Berlin")  # over the file's own timezone

    chosen = await loaded(acme_store)
    assert (chosen.person[ANA].timezone, chosen.person[CAI].timezone) == (
        "Asia/Kolkata",
        "Europe/Berlin",
    )

    await acme_store.link_chat_user(  # a later link does not undo the choice
        "acme", ANA, platform="slack", user_id="U1", timezone="America/Denver"
    )
    assert (await loaded(acme_store)).person[ANA].timezone == "Asia/Kolkata"

    await acme_store.set_timezone("acme", ANA, None)
    await acme_store.set_timezone("acme", CAI, None)

    reset = await loaded(acme_store)
    assert (reset.person[ANA].timezone, reset.person[CAI].timezone) == (
        "America/Denver",
        "Asia/Tokyo",
    )


async def test_re_importing_the_tree_keeps_what_chat_taught_us(acme_store: SqlStore) -> None:
    await acme_store.link_chat_user(
        "acme", DEV, platform="slack", user_id="U-DEV", timezone="America/Chicago"
    )
    await acme_store.set_timezone("acme", BEN, "Europe/Lisbon")
    await acme_store.mark_unreachable("acme", CAI, reason="blocked the bot", at=MONDAY)

    await acme_store.save_organisation(acme())

    org = await loaded(acme_store)
    assert org.person[DEV].slack_user_id == "U-DEV"
    assert org.person[DEV].timezone == "America/Chicago"
    assert org.person[BEN].timezone == "Europe/Lisbon"
    assert [u.person for u in await acme_store.unreachable_people("acme")] == [CAI]


async def test_profiles_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.link_chat_user("a", DEV, platform="slack", user_id="U-DEV")
    await store.set_timezone("a", BEN, "Europe/Lisbon")

    b = await loaded(store, "b")

    assert b.person[DEV].slack_user_id is None
    assert b.person[BEN].timezone == "Europe/Paris"
    assert b.person_by_chat_id("slack", "U-DEV") is None


# ---- unreachable people ------------------------------------------------------------------


async def test_unreachable_people_until_they_are_cleared(acme_store: SqlStore) -> None:
    later = MONDAY + timedelta(hours=1)
    await acme_store.link_chat_user("acme", DEV, platform="slack", user_id="U-DEV")
    await acme_store.mark_unreachable("acme", DEV, reason="account_inactive", at=later)
    await acme_store.mark_unreachable("acme", BEN, reason="user_not_found", at=MONDAY)

    assert await acme_store.unreachable_people("acme") == [
        Unreachable(BEN, "user_not_found", MONDAY),
        Unreachable(DEV, "account_inactive", later),
    ]
    assert (await loaded(acme_store)).person[DEV].slack_user_id == "U-DEV"  # link kept

    await acme_store.clear_unreachable("acme", BEN)
    await acme_store.clear_unreachable("acme", CAI)  # never unreachable, no profile: no-op

    assert await acme_store.unreachable_people("acme") == [
        Unreachable(DEV, "account_inactive", later)
    ]
    assert {p.person for p in await acme_store.chat_profiles("acme")} == {BEN, DEV}


async def test_marking_again_updates_the_reason(acme_store: SqlStore) -> None:
    await acme_store.mark_unreachable("acme", BEN, reason="user_not_found", at=MONDAY)
    await acme_store.mark_unreachable(
        "acme", BEN, reason="bot blocked", at=MONDAY + timedelta(days=1)
    )

    [ben] = await acme_store.unreachable_people("acme")

    assert (ben.reason, ben.since) == ("bot blocked", MONDAY + timedelta(days=1))


async def test_unreachable_people_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.mark_unreachable("a", BEN, reason="gone", at=MONDAY)

    await store.clear_unreachable("b", BEN)

    assert await store.unreachable_people("b") == []
    assert [u.person for u in await store.unreachable_people("a")] == [BEN]


# ---- subscriptions -----------------------------------------------------------------------


async def test_subscribe_once_then_it_already_exists(acme_store: SqlStore) -> None:
    assert await acme_store.subscribe("acme", "product", "slack:C1", by=ANA) is True
    assert await acme_store.subscribe("acme", "product", "slack:C1", by=BEN) is False

    assert await acme_store.subscriptions("acme") == [
        Subscription("product", "slack:C1", ANA, None)
    ]


async def test_a_failed_subscription_is_revived_by_subscribing_again(
    acme_store: SqlStore,
) -> None:
    await acme_store.subscribe("acme", "product", "slack:C1", by=ANA)
    await acme_store.mark_subscription_failed(
        "acme", "product", "slack:C1", error="channel_not_found", at=MONDAY
    )
    assert await acme_store.subscriptions("acme") == [
        Subscription("product", "slack:C1", ANA, "channel_not_found")
    ]

    assert await acme_store.subscribe("acme", "product", "slack:C1", by=BEN) is True

    assert await acme_store.subscriptions("acme") == [
        Subscription("product", "slack:C1", BEN, None)
    ]
    assert await acme_store.subscribe("acme", "product", "slack:C1", by=BEN) is False


async def test_unsubscribe_says_whether_there_was_one(acme_store: SqlStore) -> None:
    await acme_store.subscribe("acme", "product", "slack:C1", by=ANA)
    await acme_store.subscribe("acme", "product", "teams:19:abc", by=ANA)

    assert await acme_store.unsubscribe("acme", "product", "slack:C1") is True
    assert await acme_store.unsubscribe("acme", "product", "slack:C1") is False
    assert await acme_store.unsubscribe("acme", "platform", "teams:19:abc") is False

    assert [s.channel for s in await acme_store.subscriptions("acme")] == ["teams:19:abc"]


async def test_subscriptions_filter_by_team_and_sort(acme_store: SqlStore) -> None:
    await acme_store.subscribe("acme", "product", "slack:C2", by=ANA)
    await acme_store.subscribe("acme", "platform", "slack:C1", by=DEV)
    await acme_store.subscribe("acme", "product", "slack:C1", by=ANA)

    everything = await acme_store.subscriptions("acme")
    product = await acme_store.subscriptions("acme", "product")

    assert [(s.team, s.channel) for s in everything] == [
        ("platform", "slack:C1"),
        ("product", "slack:C1"),
        ("product", "slack:C2"),
    ]
    assert [s.channel for s in product] == ["slack:C1", "slack:C2"]
    assert await acme_store.subscriptions("acme", "company") == []


async def test_subscriptions_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.subscribe("a", "product", "slack:C1", by=ANA)

    assert await store.subscriptions("b") == []
    assert await store.subscriptions("b", "product") == []
    assert await store.unsubscribe("b", "product", "slack:C1") is False
    await store.mark_subscription_failed("b", "product", "slack:C1", error="x", at=MONDAY)
    assert await store.subscribe("b", "product", "slack:C1", by=ANA) is True  # its own

    [a] = await store.subscriptions("a")
    assert a.failure is None


async def test_subscriptions_survive_a_re_import(acme_store: SqlStore) -> None:
    await acme_store.subscribe("acme", "product", "slack:C1", by=ANA)

    await acme_store.save_organisation(acme())

    assert [s.channel for s in await acme_store.subscriptions("acme", "product")] == ["slack:C1"]


# ---- workspaces --------------------------------------------------------------------------


async def test_workspaces_link_to_organisations_and_relink_moves_them(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    assert await store.workspace_org("slack", "T1") is None

    await store.link_workspace("slack", "T1", "a")
    await store.link_workspace("slack", "T2", "a")
    await store.link_workspace("teams", "T1", "b")  # same id, other platform

    assert await store.workspace_org("slack", "T1") == "a"
    assert await store.workspace_org("teams", "T1") == "b"
    assert await store.org_workspaces("a", "slack") == ["T1", "T2"]
    assert await store.org_workspaces("a", "teams") == []

    await store.link_workspace("slack", "T1", "b")

    assert await store.workspace_org("slack", "T1") == "b"
    assert await store.org_workspaces("a", "slack") == ["T2"]
    assert await store.org_workspaces("b", "slack") == ["T1"]


# ---- conversation references -------------------------------------------------------------


TEAMS_REFERENCE = {
    "activityId": "1732363200000",
    "user": {"id": "29:1abc", "aadObjectId": "6f1c2a4e-8b3d", "name": "Dev"},
    "bot": {"id": "28:bot", "name": "Drumbeat"},
    "conversation": {"conversationType": "personal", "id": "a:1xyz", "tenantId": "tenant-1"},
    "channelId": "msteams",
    "locale": "fr-FR",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "entities": [{"type": "clientInfo", "timezone": "Europe/Paris", "nested": [1, 2.5, None]}],
    "isGroup": False,
}


async def test_a_conversation_reference_round_trips(acme_store: SqlStore) -> None:
    saved = Conversation("teams", "29:1abc", TEAMS_REFERENCE, org="acme", person=DEV)

    await acme_store.save_conversation(saved)

    assert await acme_store.conversation("teams", "29:1abc") == saved
    assert await acme_store.conversation("slack", "29:1abc") is None
    assert await acme_store.conversation("teams", "29:other") is None


async def test_saving_a_conversation_again_replaces_it(acme_store: SqlStore) -> None:
    await acme_store.save_conversation(
        Conversation("teams", "29:1abc", TEAMS_REFERENCE, org="acme", person=DEV)
    )
    moved = {**TEAMS_REFERENCE, "serviceUrl": "https://smba.trafficmanager.net/amer/"}

    await acme_store.save_conversation(Conversation("teams", "19:channel", {"id": "19:channel"}))
    await acme_store.save_conversation(Conversation("teams", "29:1abc", moved))

    again = await acme_store.conversation("teams", "29:1abc")
    assert again == Conversation("teams", "29:1abc", moved, org=None, person=None)
    channel = await acme_store.conversation("teams", "19:channel")
    assert channel is not None
    assert channel.reference == {"id": "19:channel"}


# ---- drafts of paged forms ---------------------------------------------------------------


CONTEXT = f"weekly|{WEEK}|7"


async def test_a_draft_is_saved_replaced_and_cleared(acme_store: SqlStore) -> None:
    assert await acme_store.load_draft("acme", BEN, CONTEXT) == Draft()

    first = Draft({"kr:kr-lead:value": "7", "note": None}, {"kr:kr-lead:value": "7"})
    await acme_store.save_draft("acme", BEN, CONTEXT, first)
    assert await acme_store.load_draft("acme", BEN, CONTEXT) == first

    await acme_store.save_draft("acme", BEN, CONTEXT, Draft({"kr:kr-lead:value": "6.5"}))
    assert await acme_store.load_draft("acme", BEN, CONTEXT) == Draft({"kr:kr-lead:value": "6.5"})

    await acme_store.clear_draft("acme", BEN, CONTEXT)
    assert await acme_store.load_draft("acme", BEN, CONTEXT) == Draft()
    await acme_store.clear_draft("acme", BEN, CONTEXT)  # nothing left: no error


async def test_drafts_are_kept_per_person_context_and_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    other_context = "monthly|2026-03|"
    await store.save_draft("a", BEN, CONTEXT, Draft({"f": "ben"}))
    await store.save_draft("a", ANA, CONTEXT, Draft({"f": "ana"}))
    await store.save_draft("a", BEN, other_context, Draft({"f": "ben monthly"}))

    assert (await store.load_draft("a", BEN, CONTEXT)).answers == {"f": "ben"}
    assert (await store.load_draft("a", ANA, CONTEXT)).answers == {"f": "ana"}
    assert (await store.load_draft("a", BEN, other_context)).answers == {"f": "ben monthly"}
    assert await store.load_draft("b", BEN, CONTEXT) == Draft()

    await store.clear_draft("a", BEN, CONTEXT)

    assert await store.load_draft("a", BEN, CONTEXT) == Draft()
    assert (await store.load_draft("a", ANA, CONTEXT)).answers == {"f": "ana"}
    assert (await store.load_draft("a", BEN, other_context)).answers == {"f": "ben monthly"}


# ---- batches: last answers of many people, sends of many prompts -------------------------


async def test_kr_states_many_is_kr_states_per_person(acme_store: SqlStore) -> None:
    async def save(key: str, *updates: object, person: str = BEN, hours: int = 0) -> None:
        await acme_store.save_checkin(
            "acme", weekly(person, *updates), period=WEEK, answering=Answering(),  # type: ignore[arg-type]
            submitted_at=MONDAY + timedelta(hours=hours), idempotency_key=key,
        )  # fmt: skip

    await save("b1", update("kr-lead", 8, 6), update("kr-launch", 0, 5))
    await save("b2", update("kr-lead", 7, 8, status=Status.AT_RISK, next_step="CI"), hours=1)
    await save("a1", update("kr-nps", 20, 4), person=ANA)
    people = [ANA, BEN, CAI, DEV, "nobody@acme.test"]  # Cai and Dev never answered

    many = await acme_store.kr_states_many("acme", people)

    assert many == {p: a for p in people if (a := await acme_store.kr_states("acme", p))}
    assert set(many) == {ANA, BEN, CAI, DEV}  # every owner, answered or not
    assert many[BEN]["kr-lead"] == KrState(7.0, 8, Status.AT_RISK, "CI")
    assert many[BEN]["kr-launch"].value == 0.0
    # Never checked in: where the file left them, with no confidence yet.
    assert many[DEV] == {"kr-uptime": KrState(99.5)}
    assert many[CAI] == {"kr-vague": KrState(None)}
    assert await acme_store.kr_states("acme", "nobody@acme.test") == {}
    assert await acme_store.kr_states_many("acme", []) == {}


def crowd(size: int) -> Organisation:
    """`size` people, each owning one key result: enough to need several IN-list chunks."""
    people = tuple(
        Person(f"p{i:04d}@crowd.test", f"P{i}", memberships=(Membership("all"),))
        for i in range(size)
    )
    return Organisation(
        key="crowd",
        name="Crowd",
        teams=(Team("all", "All"),),
        people=people,
        cycles=(Cycle("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),),
        objectives=(Objective("o", "Everything", "2026-Q1", owner_team="all"),),
        key_results=tuple(
            KeyResult(f"kr{i:04d}", "o", f"KR {i}", p.email, Metric(0, 100, 0))
            for i, p in enumerate(people)
        ),
    )


async def test_kr_states_many_reads_more_people_than_one_in_list_holds(
    store: SqlStore,
) -> None:
    org = crowd(1_205)
    await store.save_organisation(org)
    answering = {3: 10.0, 499: 20.0, 500: 30.0, 1_000: 40.0, 1_204: 50.0}
    for i, value in answering.items():
        await store.save_checkin(
            "crowd", weekly(f"p{i:04d}@crowd.test", update(f"kr{i:04d}", value, 6)),
            period=WEEK, answering=Answering(), submitted_at=MONDAY, idempotency_key=f"k{i}",
        )  # fmt: skip

    many = await store.kr_states_many("crowd", [p.email for p in reversed(org.people)])

    answered = {
        person: {kr: a.value for kr, a in krs.items()}
        for person, krs in many.items()
        if any(a.confidence is not None for a in krs.values())
    }
    assert answered == {
        f"p{i:04d}@crowd.test": {f"kr{i:04d}": value} for i, value in answering.items()
    }
    assert len(many) == 1_205
    assert many["p1204@crowd.test"] == await store.kr_states("crowd", "p1204@crowd.test")


async def test_mark_sent_marks_each_prompt_with_its_ref(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN), due(CAI)])
    ana, ben, cai = await acme_store.claim_unsent(
        "acme", now=MONDAY, worker="w", limit=9, lease=LEASE
    )
    at = MONDAY + timedelta(seconds=5)

    assert await acme_store.mark_sent(ana.id, at=at, message_ref="slack|D1:1")
    assert await acme_store.mark_sent(cai.id, at=at, message_ref="teams|a:1")

    sent = {p.person: await acme_store.get_prompt("acme", p.id) for p in (ana, ben, cai)}
    assert {person: (p.sent_at, p.message_ref) for person, p in sent.items() if p} == {
        ANA: (at, "slack|D1:1"),
        BEN: (None, None),
        CAI: (at, "teams|a:1"),
    }
    later = MONDAY + timedelta(days=1)
    assert [p.person for p in await acme_store.claim_unsent(
        "acme", now=later, worker="w", limit=9, lease=LEASE
    )] == [BEN]  # fmt: skip


# ---- admins ------------------------------------------------------------------------------


async def test_admins_are_saved_and_loaded(acme_store: SqlStore) -> None:
    assert (await loaded(acme_store)).admins == ()

    await acme_store.save_organisation(replace(acme(), admins=(DEV, BEN)))

    org = await loaded(acme_store)
    assert org.admins == (DEV, BEN)
    assert [p.email for p in org.admin_people] == [DEV, BEN]

    await acme_store.save_organisation(acme())
    assert (await loaded(acme_store)).admins == ()
