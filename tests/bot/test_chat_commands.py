"""The commands chat platforms added: subscribe, unsubscribe, snooze and timezone, through the
real service and database (both backends)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.commands import run_command
from rhythm.messages import Notice, Text
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
PROMPTED = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: the weekly went out
CHANNEL = "slack:C0GROWTH"

CLAIRE = "claire.martin@acme.example"  # leads the top team: an admin by default
JULIEN = "julien.moreau@acme.example"  # leads product, above growth
SOFIA = "sofia.rossi@acme.example"  # leads growth
LUCAS = "lucas.bernard@acme.example"  # growth member
LEA = "lea.fontaine@acme.example"  # leads mobile, another branch
HUGO = "hugo.petit@acme.example"  # mobile: a daily pulse too


@pytest.fixture
async def drumbeat(store: SqlStore) -> Drumbeat:
    await store.save_organisation(load_organisation(ACME))
    chat = ConsoleGateway(console=Console(file=io.StringIO()))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    return Drumbeat(store=store, chat=router, clock=FixedClock(MONDAY))


async def say(drumbeat: Drumbeat, who: str, text: str, *, channel: str | None = CHANNEL) -> str:
    """What `who` is told after typing `/okr text` (in CHANNEL unless None: a DM)."""
    reply = await run_command(drumbeat, "acme", who, text, prefix="/okr ", channel=channel)
    assert isinstance(reply.message, Text | Notice), reply
    return reply.message.text if isinstance(reply.message, Text) else reply.message.title


async def subscribed(drumbeat: Drumbeat) -> list[tuple[str, str, str]]:
    return [(s.team, s.channel, s.created_by) for s in await drumbeat.store.subscriptions("acme")]


# ---- subscribe and unsubscribe -----------------------------------------------------------


async def test_a_lead_subscribes_the_channel_to_their_team(drumbeat: Drumbeat) -> None:
    assert await say(drumbeat, SOFIA, "subscribe") == (
        "✅ This channel now receives Growth's digests."
    )
    assert await say(drumbeat, SOFIA, "subscribe growth") == (
        "This channel already receives Growth's digests."
    )
    assert await subscribed(drumbeat) == [("growth", CHANNEL, SOFIA)]

    assert await say(drumbeat, SOFIA, "unsubscribe") == (
        "This channel no longer receives Growth's digests."
    )
    assert await say(drumbeat, SOFIA, "unsubscribe Growth") == (
        "This channel was not subscribed to Growth's digests."
    )
    assert await subscribed(drumbeat) == []


async def test_subscribing_needs_a_channel(drumbeat: Drumbeat) -> None:
    for command in ("subscribe", "unsubscribe"):
        told = await say(drumbeat, SOFIA, command, channel=None)
        assert told == (f"Type `/okr {command} [team]` in the channel that should get the digests.")
    assert await subscribed(drumbeat) == []


async def test_members_may_not_change_where_digests_go(drumbeat: Drumbeat) -> None:
    await drumbeat.store.subscribe("acme", "growth", CHANNEL, by=SOFIA)
    refused = "Only Growth's leads (or an admin) can change where its digests go."

    assert await say(drumbeat, LUCAS, "subscribe") == refused
    assert await say(drumbeat, LUCAS, "unsubscribe growth") == refused
    assert await say(drumbeat, LEA, "unsubscribe growth") == refused  # a lead elsewhere
    assert await subscribed(drumbeat) == [("growth", CHANNEL, SOFIA)]


async def test_a_lead_of_a_team_above_may_subscribe(drumbeat: Drumbeat) -> None:
    assert await say(drumbeat, JULIEN, "subscribe growth") == (
        "✅ This channel now receives Growth's digests."
    )
    assert await say(drumbeat, JULIEN, "subscribe Go-to-market") == (
        "Only Go-to-market's leads (or an admin) can change where its digests go."
    )
    assert await subscribed(drumbeat) == [("growth", CHANNEL, JULIEN)]


async def test_admins_may_subscribe_any_team(drumbeat: Drumbeat, store: SqlStore) -> None:
    org = await drumbeat.organisation("acme")
    await store.save_organisation(replace(org, admins=(LUCAS,)))

    assert await say(drumbeat, LUCAS, "subscribe support") == (
        "✅ This channel now receives Customer Support's digests."
    )
    assert await say(drumbeat, CLAIRE, "subscribe support") == (  # no longer the default admin
        "This channel already receives Customer Support's digests."
    )
    assert await subscribed(drumbeat) == [("support", CHANNEL, LUCAS)]


async def test_the_default_admin_may_subscribe_any_team(drumbeat: Drumbeat) -> None:
    assert await say(drumbeat, CLAIRE, "subscribe mobile") == (
        "✅ This channel now receives Mobile's digests."
    )


async def test_an_unknown_team_is_named_with_the_teams_there_are(drumbeat: Drumbeat) -> None:
    told = await say(drumbeat, CLAIRE, "subscribe nowhere")

    assert told.startswith("No team “nowhere”. Teams: acme, product, growth, engineering")
    assert await subscribed(drumbeat) == []


# ---- snooze ------------------------------------------------------------------------------


async def test_snooze_with_nothing_open(drumbeat: Drumbeat) -> None:
    assert await say(drumbeat, LUCAS, "snooze", channel=None) == (
        "You have no open check-ins to snooze."
    )


async def test_snooze_puts_off_the_open_prompt_s_reminders(drumbeat: Drumbeat) -> None:
    clock = drumbeat.clock
    assert isinstance(clock, FixedClock)
    clock.set(PROMPTED)
    await drumbeat.tick(PROMPTED)
    [prompt] = await drumbeat.store.open_prompts("acme", LUCAS, now=PROMPTED)
    clock.set(PROMPTED + timedelta(minutes=10))

    told = await say(drumbeat, LUCAS, "snooze", channel=None)

    assert told == "😴 Snoozed: I will remind you after 12:15 (Europe/Paris)."  # 2 h later
    snoozed = await drumbeat.store.get_prompt("acme", prompt.id)
    assert snoozed is not None
    assert snoozed.snoozed_until == PROMPTED + timedelta(hours=2, minutes=10)
    other = await drumbeat.store.open_prompts("acme", JULIEN, now=clock.now())
    assert [p.snoozed_until for p in other] == [None]


# ---- timezone ----------------------------------------------------------------------------


async def test_timezone_shows_the_current_one(drumbeat: Drumbeat) -> None:
    told = await say(drumbeat, LUCAS, "timezone", channel=None)

    assert told.startswith("You are prompted in Europe/Paris. Change it with `/okr timezone")


async def test_timezone_sets_a_known_zone_whatever_its_case(drumbeat: Drumbeat) -> None:
    told = await say(drumbeat, LUCAS, "timezone america/NEW_york", channel=None)

    assert told == "✅ You will be prompted in America/New_York from now on."
    assert (await drumbeat.organisation("acme")).person[LUCAS].timezone == "America/New_York"
    assert (await say(drumbeat, LUCAS, "timezone")).startswith(
        "You are prompted in America/New_York."
    )


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Paris", "../../etc/passwd"])
async def test_timezone_refuses_names_it_does_not_know(drumbeat: Drumbeat, name: str) -> None:
    told = await say(drumbeat, LUCAS, f"timezone {name}", channel=None)

    assert told == f"“{name}” is not a timezone I know. Use a name like Europe/Paris."
    assert (await drumbeat.organisation("acme")).person[LUCAS].timezone == "Europe/Paris"


async def test_timezone_reset_goes_back_to_the_chat_or_team_timezone(drumbeat: Drumbeat) -> None:
    await say(drumbeat, LUCAS, "timezone Asia/Tokyo")

    told = await say(drumbeat, LUCAS, "timezone RESET")

    assert told == "Your timezone follows your chat profile or team again."
    assert (await drumbeat.organisation("acme")).person[LUCAS].timezone == "Europe/Paris"


# ---- help --------------------------------------------------------------------------------


async def test_help_lists_the_new_commands(drumbeat: Drumbeat) -> None:
    told = await say(drumbeat, LUCAS, "help")

    for line in (
        "`/okr subscribe` [team] — post a team's digests in this channel (leads, admins)",
        "`/okr unsubscribe` [team] — stop posting a team's digests in this channel",
        "`/okr snooze` — put off your open check-ins' reminders for 2 hours",
        "`/okr timezone` [Area/City | reset] — show or set the timezone you are prompted in",
    ):
        assert line in told.splitlines()


@pytest.mark.parametrize("text", ["tz Europe/Paris", "reminders"])
async def test_unknown_commands_get_the_help(drumbeat: Drumbeat, text: str) -> None:
    told = await say(drumbeat, LUCAS, text)

    assert told.startswith(f"I don't know “{text.split()[0]}”.")
    assert "`/okr timezone` [Area/City | reset]" in told


@pytest.mark.parametrize(
    ("text", "meant"),
    [("subscribed", "subscribe"), ("snooze-all", "snooze"), ("timezon", "timezone")],
)
async def test_a_near_miss_gets_the_command_it_was_probably_meant_to_be(
    drumbeat: Drumbeat, text: str, meant: str
) -> None:
    told = await say(drumbeat, LUCAS, text)

    assert told == (
        f"I don't know “{text}”. Did you mean `/okr {meant}`?\n"
        "`/okr help` lists everything I can do."
    )


async def test_snooze_finds_what_is_open_in_the_timezone_one_chose(drumbeat: Drumbeat) -> None:
    clock = drumbeat.clock
    assert isinstance(clock, FixedClock)
    await say(drumbeat, HUGO, "timezone America/Los_Angeles", channel=None)
    at = MONDAY + timedelta(hours=17, minutes=35)  # 09:35 in Los Angeles: the daily went out
    clock.set(at)
    await drumbeat.tick(at)
    [daily] = [
        p
        for p in await drumbeat.store.reminder_candidates("acme", now=at)
        if p.person == HUGO and p.period == "2026-11-23"
    ]
    clock.set(MONDAY + timedelta(hours=23, minutes=15))  # still Monday there, Tuesday in Paris

    told = await say(drumbeat, HUGO, "snooze", channel=None)

    assert told.startswith("😴 Snoozed")
    snoozed = await drumbeat.store.get_prompt("acme", daily.id)
    assert snoozed is not None
    assert snoozed.snoozed_until is not None
