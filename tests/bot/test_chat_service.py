"""What the service does for the chat platforms, on the Acme sample, through the real service
and database (both backends): workspaces, who is who, paged forms, leave, delivery problems,
subscriptions and the home screen. Chat is the console, with chosen people and channels
unreachable."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway, Sent
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.checkin import CheckedIn, FormPage
from rhythm.digest_model import Digest
from rhythm.errors import NotYourPrompt, UnknownPerson, UnknownWorkspace
from rhythm.home import build_home
from rhythm.markup import plain
from rhythm.messages import Form, Message, Notice, Report, Table, Text
from rhythm.okr import DateRange, Organisation, Person
from rhythm.people import Admission
from rhythm.ports import DeliveryError, FixedClock, Leaving
from rhythm.prompting import OPEN
from rhythm.records import ON_LEAVE
from rhythm.service import Drumbeat
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
PROMPTED = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: the weekly went out
DEADLINE = MONDAY + timedelta(days=2, hours=9)  # Wednesday 10:00 Paris: the weekly digest
NEXT_DEADLINE = DEADLINE + timedelta(days=7)

CLAIRE = "claire.martin@acme.example"  # leads the top team: an admin by default; Slack id
JULIEN = "julien.moreau@acme.example"  # leads product; two key results
LUCAS = "lucas.bernard@acme.example"  # growth member, one key result
CAMILLE = "camille.laurent@acme.example"  # growth member, no key result
THOMAS = "thomas.keller@acme.example"  # leads engineering; Teams id in the file
ANANYA = "ananya.iyer@acme.example"  # Bengaluru
MARCUS = "marcus.johnson@acme.example"  # leads go-to-market
HUGO = "hugo.petit@acme.example"  # mobile: weekly and daily


class UnreliableGateway(ConsoleGateway):
    """The console, with chosen people and channels unreachable; counts channel attempts."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.failures: dict[str, DeliveryError] = {}
        self.attempts: dict[str, int] = {}

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if person.email in self.failures:
            raise self.failures[person.email]
        return await super().send_direct(org, person, message, tag=tag, leaving=leaving)

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        self.attempts[channel] = self.attempts.get(channel, 0) + 1
        if channel in self.failures:
            raise self.failures[channel]
        return await super().post_channel(org, channel, message, thread=thread)


@dataclass
class World:
    org: Organisation
    store: SqlStore
    drumbeat: Drumbeat
    chat: UnreliableGateway
    clock: FixedClock

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.drumbeat.tick(at)

    async def replace_tree(self, org: Organisation) -> None:
        await self.store.save_organisation(org)  # every process sees it on its next use

    def notices_to(self, email: str) -> list[Notice]:
        return [
            s.message
            for s in self.chat.sent_to(email)
            if isinstance(s.message, Notice) and s.updates is None
        ]

    def prompt_id(self, email: str) -> int:
        notice = next(n for n in reversed(self.notices_to(email)) if n.actions)
        return int(next(a.value for a in notice.actions if a.id == OPEN))

    def reminders(self, email: str) -> list[Notice]:
        return [n for n in self.notices_to(email) if n.title.startswith("Reminder")]

    def digests_in(self, channel: str) -> list[Sent]:
        """Top-level digest posts in a channel (not the sub-teams' thread replies)."""
        return [
            s
            for s in self.chat.outbox
            if s.to == channel and s.thread is None and isinstance(s.message, Report)
        ]

    def admin_notices(self) -> list[Sent]:
        return [
            s
            for s in self.chat.outbox
            if isinstance(s.message, Notice) and s.message.title.startswith("⚠️")
        ]


@pytest.fixture
async def world(store: SqlStore) -> World:
    org = load_organisation(ACME)
    await store.save_organisation(org)
    clock = FixedClock(MONDAY)
    chat = UnreliableGateway(console=Console(file=io.StringIO(), width=120))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    drumbeat = Drumbeat(store=store, chat=router, clock=clock, worker="test")
    return World(org, store, drumbeat, chat, clock)


def with_person(org: Organisation, email: str, **changes: object) -> Organisation:
    changed = replace(org.person[email], **changes)  # type: ignore[arg-type]
    return replace(org, people=tuple(changed if p.email == email else p for p in org.people))


# ---- workspaces --------------------------------------------------------------------------

SINGLE = Admission(join_only_organisation=True)  # SLACK_BOT_TOKEN, a single-tenant Teams app


async def test_a_configured_workspace_joins_the_only_organisation(world: World) -> None:
    people = world.drumbeat.people
    assert await people.workspace_org("slack", "T0ACME", admission=SINGLE) == "acme"

    assert await world.store.workspace_org("slack", "T0ACME") == "acme"
    assert await world.store.org_workspaces("acme", "slack") == ["T0ACME"]
    assert await people.workspace_org("slack", "T0ACME") == "acme"  # linked now


def connection_requests(world: World) -> list[tuple[str, Notice]]:
    return [
        (s.to, s.message)
        for s in world.chat.outbox
        if isinstance(s.message, Notice) and s.message.title.startswith("🔌")
    ]


async def test_a_workspace_nobody_linked_gets_nothing_and_the_admins_hear_once(
    world: World,
) -> None:
    people = world.drumbeat.people

    for _ in range(3):
        with pytest.raises(UnknownWorkspace, match="not connected to Drumbeat yet; ask your"):
            await people.workspace_org("slack", "T0STRANGER")
    with pytest.raises(UnknownWorkspace):
        await people.workspace_org("teams", "tenant-9")

    assert await world.store.workspace_org("slack", "T0STRANGER") is None
    told = connection_requests(world)
    assert [(to, notice.title) for to, notice in told] == [
        (CLAIRE, "🔌 A Slack workspace wants to use Drumbeat"),
        (CLAIRE, "🔌 A Microsoft Teams tenant wants to use Drumbeat"),
    ]
    assert "drumbeat workspace link slack T0STRANGER acme" in told[0][1].lines[1]
    await world.store.link_workspace("slack", "T0STRANGER", "acme")  # the admin's act
    assert await people.workspace_org("slack", "T0STRANGER") == "acme"


async def test_an_allow_list_names_the_workspaces_that_join(world: World) -> None:
    await world.store.save_organisation(replace(world.org, key="beta", name="Beta"))
    allowed = Admission(allowed={"T0BETA": "beta", "T0ANY": None})
    people = world.drumbeat.people

    assert await people.workspace_org("slack", "T0BETA", admission=allowed) == "beta"
    with pytest.raises(UnknownWorkspace):  # two organisations: "the only one" is none
        await people.workspace_org("slack", "T0ANY", admission=allowed)
    with pytest.raises(UnknownWorkspace):  # with several, even a configured one is linked
        await people.workspace_org("slack", "T0ACME", admission=SINGLE)


# ---- who is who --------------------------------------------------------------------------


async def test_identify_by_the_file_s_chat_ids(world: World) -> None:
    teams_id = world.org.person[THOMAS].teams_user_id
    assert teams_id is not None

    assert await world.drumbeat.people.identify("acme", "slack", "U05ACME001") == CLAIRE
    assert await world.drumbeat.people.identify("acme", "teams", teams_id.upper()) == THOMAS
    assert await world.store.chat_profiles("acme") == []  # nothing to remember


async def test_identify_by_email_links_the_id_and_takes_the_chat_timezone(world: World) -> None:
    found = await world.drumbeat.people.identify(
        "acme", "slack", "U0LUCAS", email=" Lucas.Bernard@ACME.example ",
        timezone="America/Chicago",
    )  # fmt: skip

    assert found == LUCAS
    assert await world.drumbeat.people.identify("acme", "slack", "U0LUCAS") == LUCAS  # now linked
    lucas = (await world.drumbeat.organisation("acme")).person[LUCAS]
    assert (lucas.slack_user_id, lucas.timezone) == ("U0LUCAS", "America/Chicago")


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "../../etc/passwd", "", None])
async def test_identify_ignores_a_timezone_that_is_not_one(
    world: World, timezone: str | None
) -> None:
    found = await world.drumbeat.people.identify(
        "acme", "teams", "aad-ananya", email=ANANYA, timezone=timezone
    )

    assert found == ANANYA
    ananya = (await world.drumbeat.organisation("acme")).person[ANANYA]
    assert (ananya.teams_user_id, ananya.timezone) == ("aad-ananya", "Asia/Kolkata")


async def test_identify_refuses_strangers(world: World) -> None:
    with pytest.raises(UnknownPerson, match=r"stranger@else\.example is not in Acme's OKR tree"):
        await world.drumbeat.people.identify("acme", "slack", "U0X", email="stranger@else.example")
    with pytest.raises(UnknownPerson, match="slack user U0X"):
        await world.drumbeat.people.identify("acme", "slack", "U0X")
    assert await world.store.chat_profiles("acme") == []


# ---- paged forms -------------------------------------------------------------------------


def by_key_result(form: Form) -> list[list[str]]:
    """One page per key result (and its initiatives), as a platform with small pages would."""
    pages: list[list[str]] = []
    for section in form.sections:
        ids = [f.id for f in section.fields]
        if section.title.startswith("Initiatives") and pages:
            pages[-1] += ids
        else:
            pages.append(ids)
    return pages


async def julien_pages(world: World) -> tuple[FormPage, list[list[str]]]:
    """Julien's weekly form, one page per key result."""
    opened = await world.drumbeat.checkins.open("acme", JULIEN)
    pages = by_key_result(opened.form)
    assert [page[0] for page in pages] == [
        "kr:weekly-active-teams:value",
        "kr:nps:value",
    ]
    return opened, pages


def answered(page: Sequence[str], value: str, confidence: str = "7") -> dict[str, str | None]:
    answers: dict[str, str | None] = dict.fromkeys(page, "")
    for fid in page:
        if fid.endswith(":value"):
            answers[fid] = value
        elif fid.endswith(":confidence"):
            answers[fid] = confidence
    return answers


async def submit(
    world: World, shown: FormPage, answers: dict[str, str | None], key: str | None = None
) -> FormPage | CheckedIn:
    return await world.drumbeat.checkins.submit(
        "acme", JULIEN, shown.form.context, answers, pager=by_key_result, idempotency_key=key
    )


async def test_pages_are_kept_as_a_draft_until_the_last_one_is_submitted(world: World) -> None:
    opened, (first, second) = await julien_pages(world)

    # Only the page's own fields are checked: the second page is still empty.
    following = await submit(world, opened, answered(first, "4,150", "6"))

    assert isinstance(following, FormPage)
    assert (following.page, dict(following.form.errors)) == (1, {})
    assert following.answers["kr:weekly-active-teams:value"] == "4,150"
    outcome = await submit(world, following, answered(second, "38"))

    assert isinstance(outcome, CheckedIn)
    last = await world.store.kr_states("acme", JULIEN)
    assert (last["weekly-active-teams"].value, last["weekly-active-teams"].confidence) == (
        4150.0,
        6,
    )
    assert last["nps"].value == 38.0
    reopened = await world.drumbeat.checkins.open("acme", JULIEN)
    assert reopened.answers == {}  # the draft is gone with the check-in


async def test_a_page_with_an_error_comes_back_and_the_next_page_waits(world: World) -> None:
    opened, (first, second) = await julien_pages(world)

    refused = await submit(world, opened, answered(first, "lots"))

    assert isinstance(refused, FormPage)
    assert (refused.page, refused.again) == (0, True)
    assert list(refused.form.errors) == ["kr:weekly-active-teams:value"]
    assert "not a number" in refused.form.errors["kr:weekly-active-teams:value"]
    following = await submit(world, refused, answered(first, "4100"))
    assert isinstance(following, FormPage)
    assert following.page == 1
    later = await submit(world, following, answered(second, "-"))

    assert isinstance(later, FormPage)
    assert list(later.form.errors) == ["kr:nps:value"]  # the first page's answers are fine
    assert later.page == 1
    reopened = await world.drumbeat.checkins.open("acme", JULIEN)
    assert reopened.answers["kr:weekly-active-teams:value"] == "4100"  # the draft is kept


async def test_answers_to_another_page_are_not_taken_from_this_one(world: World) -> None:
    opened, (first, second) = await julien_pages(world)
    following = await submit(world, opened, answered(first, "4100"))
    assert isinstance(following, FormPage)
    # A submission of the last page that also carries a first-page field: not this page's.
    sneaky = {**answered(second, "38"), "kr:weekly-active-teams:value": "1"}

    outcome = await submit(world, following, sneaky)

    assert isinstance(outcome, CheckedIn)
    last = await world.store.kr_states("acme", JULIEN)
    assert last["weekly-active-teams"].value == 4100.0


async def test_a_retried_last_page_is_the_same_check_in(world: World) -> None:
    opened, (first, second) = await julien_pages(world)
    following = await submit(world, opened, answered(first, "4100"))
    assert isinstance(following, FormPage)
    last_page = answered(second, "38")

    once = await submit(world, following, last_page, key="a1")
    again = await submit(world, following, last_page, key="a1")

    assert isinstance(once, CheckedIn)
    assert isinstance(again, CheckedIn)
    assert (again.checkin_id, again.created) == (once.checkin_id, False)


# ---- "I'm off this week" and leave ---------------------------------------------------------


async def test_off_this_week_stops_reminders_and_counts_as_leave(world: World) -> None:
    await world.tick(PROMPTED)
    prompt_id = world.prompt_id(LUCAS)

    notice = await world.drumbeat.checkins.skip_period("acme", LUCAS, prompt_id)

    assert notice.title.startswith("🌴")
    assert "2026-W48" in notice.title
    prompt = await world.store.get_prompt("acme", prompt_id)
    assert prompt is not None
    assert prompt.failure == ON_LEAVE
    for quarter in range(1, 4 * 24):  # the rest of Monday and Tuesday morning
        await world.tick(PROMPTED + timedelta(minutes=15 * quarter))
    assert world.reminders(LUCAS) == []
    assert world.reminders(JULIEN) != []  # who did not say so is reminded

    await world.tick(DEADLINE)

    [post] = world.digests_in("#acme-okrs")
    assert isinstance(post.message, Report)
    said = said_of(post.message)
    assert "Lucas Bernard" in said["on leave"]
    assert "Lucas Bernard" not in said.get("missing", "") + said.get("unreachable", "")
    assert "Julien Moreau" in said["missing"]
    assert await world.store.unreachable_people("acme") == []
    assert world.admin_notices() == []


async def test_off_this_week_only_for_an_open_prompt_of_one_s_own(world: World) -> None:
    await world.tick(PROMPTED)
    lucas_prompt = world.prompt_id(LUCAS)

    with pytest.raises(NotYourPrompt, match="not yours"):
        await world.drumbeat.checkins.skip_period("acme", JULIEN, lucas_prompt)
    opened = await world.drumbeat.checkins.open("acme", LUCAS, prompt_id=lucas_prompt)
    first = [f.id for f in opened.form.fields]
    done = await world.drumbeat.checkins.submit(
        "acme", LUCAS, opened.form.context, answered(first, "55")
    )
    assert isinstance(done, CheckedIn)
    notice = await world.drumbeat.checkins.skip_period("acme", LUCAS, lucas_prompt)

    assert "already checked in" in notice.title
    prompt = await world.store.get_prompt("acme", lucas_prompt)
    assert prompt is not None
    assert prompt.failure is None


async def test_no_reminders_on_a_day_off_and_they_resume_after(world: World) -> None:
    await world.tick(PROMPTED)
    monday = DateRange(date(2026, 11, 23), date(2026, 11, 23))
    await world.replace_tree(with_person(world.org, LUCAS, time_off=(monday,)))

    for quarter in range(1, 4 * 14):  # the rest of Monday
        await world.tick(PROMPTED + timedelta(minutes=15 * quarter))

    assert world.reminders(LUCAS) == []
    assert world.reminders(JULIEN) != []
    await world.tick(MONDAY + timedelta(days=1, hours=8))  # Tuesday 09:00 in Paris
    assert [n.title.split(":")[0] for n in world.reminders(LUCAS)] == ["Reminder 1"]


# ---- delivery problems -------------------------------------------------------------------


async def test_a_permanent_failure_marks_the_person_and_tells_the_admins_once(
    world: World,
) -> None:
    world.chat.failures[LUCAS] = DeliveryError("user_not_found", permanent=True)
    world.chat.failures[JULIEN] = DeliveryError("the person blocked the bot", permanent=True)
    world.chat.failures[CAMILLE] = DeliveryError("ratelimited", permanent=False, retry_after=60)

    await world.tick(PROMPTED)
    await world.tick(PROMPTED + timedelta(minutes=5))

    unreachable = await world.store.unreachable_people("acme")
    assert [(u.person, u.reason, u.since) for u in unreachable] == [
        (JULIEN, "the person blocked the bot", PROMPTED),
        (LUCAS, "user_not_found", PROMPTED),
    ]
    [sent] = world.admin_notices()  # one per tick, to Claire, who leads the top team
    assert sent.to == CLAIRE
    assert isinstance(sent.message, Notice)
    assert sent.message.title == "⚠️ 2 check-in prompts could not be delivered"
    assert set(sent.message.lines) == {
        "Julien Moreau: the person blocked the bot",
        "Lucas Bernard: user_not_found",
    }
    assert sent.message.footer.startswith("They will not be retried:")


async def test_listed_admins_hear_about_delivery_failures_instead(world: World) -> None:
    await world.replace_tree(replace(world.org, admins=(THOMAS, MARCUS)))
    world.chat.failures[LUCAS] = DeliveryError("user_not_found", permanent=True)

    await world.tick(PROMPTED)

    assert sorted(s.to for s in world.admin_notices()) == [MARCUS, THOMAS]


async def test_talking_to_the_bot_makes_a_person_reachable_again(world: World) -> None:
    world.chat.failures[LUCAS] = DeliveryError("user_not_found", permanent=True)
    await world.tick(PROMPTED)

    await world.drumbeat.people.reachable("acme", LUCAS)

    assert await world.store.unreachable_people("acme") == []


async def test_a_prompt_that_gets_through_makes_a_person_reachable_again(world: World) -> None:
    world.chat.failures[LUCAS] = DeliveryError("user_not_found", permanent=True)
    await world.tick(PROMPTED)
    del world.chat.failures[LUCAS]  # the admin fixed the account

    await world.tick(PROMPTED + timedelta(days=7))

    assert len(world.notices_to(LUCAS)) == 1  # next week's prompt got through
    assert await world.store.unreachable_people("acme") == []


# ---- subscriptions -----------------------------------------------------------------------


async def test_digests_go_to_the_rhythm_s_channels_and_subscribed_ones(world: World) -> None:
    await world.store.subscribe("acme", "acme", "console:#exec", by=CLAIRE)
    await world.store.subscribe("acme", "acme", "console:#gone", by=CLAIRE)
    await world.store.subscribe("acme", "acme", "console:#acme-okrs", by=CLAIRE)  # no twice
    world.chat.failures["#gone"] = DeliveryError("channel_not_found", permanent=True)
    await world.tick(PROMPTED)

    await world.tick(DEADLINE)

    assert len(world.digests_in("#acme-okrs")) == 1
    [exec_post] = world.digests_in("#exec")
    assert isinstance(exec_post.message, Report)
    assert plain(exec_post.message.title).startswith("📣 Acme ·")
    replies = [s for s in world.chat.outbox if s.thread == exec_post.ref]
    assert len(replies) == len(world.org.child_teams("acme"))
    [gone] = [s for s in await world.store.subscriptions("acme") if s.channel == "console:#gone"]
    assert gone.failure == "channel_not_found"
    [notice] = world.admin_notices()
    assert notice.to == CLAIRE
    assert isinstance(notice.message, Notice)
    assert notice.message.lines == ("acme digest → console:#gone: channel_not_found",)

    attempts = world.chat.attempts["#gone"]
    await world.tick(NEXT_DEADLINE)

    assert world.chat.attempts["#gone"] == attempts  # switched off: not tried again
    assert len(world.digests_in("#exec")) == 2
    assert len(world.digests_in("#acme-okrs")) == 2
    assert len(world.admin_notices()) == 1


async def test_a_failing_rhythm_channel_is_reported_but_kept(world: World) -> None:
    await world.store.subscribe("acme", "acme", "console:#exec", by=CLAIRE)
    world.chat.failures["#acme-okrs"] = DeliveryError("not_in_channel", permanent=True)
    await world.tick(PROMPTED)

    await world.tick(DEADLINE)

    assert len(world.digests_in("#exec")) == 1
    assert [s.channel for s in await world.store.subscriptions("acme") if s.failure] == []
    del world.chat.failures["#acme-okrs"]
    await world.tick(NEXT_DEADLINE)
    assert len(world.digests_in("#acme-okrs")) == 1  # the file's channel is tried every time


async def test_a_team_without_a_rhythm_of_its_own_gets_its_digest_where_subscribed(
    world: World,
) -> None:
    await world.store.subscribe("acme", "growth", "console:#growth", by="sofia.rossi@acme.example")
    await world.tick(PROMPTED)

    await world.tick(DEADLINE)

    posts = [s.message for s in world.chat.outbox if s.to == "#growth"]
    assert [plain(m.title) for m in posts if isinstance(m, Report)] == ["📣 Growth · weekly digest"]


def said_of(report: Report) -> dict[str, str]:
    """The participation footer's named groups: {"missing": "Julien Moreau", ...}."""
    parts = (p.partition(": ") for p in report.footer.removeprefix("👥 ").split(" · "))
    return {label: names for label, _, names in parts if names}


# ---- the home screen ---------------------------------------------------------------------


async def test_home_shows_key_results_the_open_check_in_and_the_team_digest(
    world: World,
) -> None:
    world.chat.failures[JULIEN] = DeliveryError("user_not_found", permanent=True)
    await world.tick(PROMPTED)

    home = await build_home(world.drumbeat, "acme", LUCAS)

    assert home.title == "Lucas Bernard · Acme"
    assert isinstance(home.key_results, Table)
    assert [row[0] for row in home.key_results.rows] == [
        "Onboarding completion rate from 40% to 70%"
    ]
    assert home.next_due == "Weekly check-in 2026-W48 due Wed 25 Nov 10:00"
    assert isinstance(home.digest, Digest)
    assert home.digest.team == "growth"
    assert (home.is_admin, home.problems) == (False, ())  # there are some, but not for Lucas


async def test_home_says_when_the_rhythms_prompt_next(world: World) -> None:
    lucas = await build_home(world.drumbeat, "acme", LUCAS)
    hugo = await build_home(world.drumbeat, "acme", HUGO)

    assert lucas.next_due == (
        "Nothing open. Next: Weekly check-in on Mondays at 10:00; Monthly review on day 1 at "
        "14:00; End-of-cycle strategy refresh 14 days before the cycle ends (Europe/Paris)."
    )
    assert hugo.next_due.startswith(
        "Nothing open. Next: Daily pulse every working day at 09:30; Weekly check-in on Mondays"
    )

    await world.replace_tree(replace(world.org, rhythms=()))
    quiet = await build_home(world.drumbeat, "acme", LUCAS)
    assert quiet.next_due == "No rhythm prompts you yet."


async def test_home_of_someone_without_key_results(world: World) -> None:
    home = await build_home(world.drumbeat, "acme", CAMILLE)

    assert home.key_results == Text("You own no key results in Acme's OKR tree.")


async def test_admins_see_what_to_fix_on_their_home(world: World) -> None:
    world.chat.failures[LUCAS] = DeliveryError("user_not_found", permanent=True)
    world.chat.failures["#gone"] = DeliveryError("channel_not_found", permanent=True)
    await world.store.subscribe("acme", "acme", "console:#gone", by=CLAIRE)
    await world.tick(PROMPTED)
    await world.tick(DEADLINE)

    home = await build_home(world.drumbeat, "acme", CLAIRE)

    assert home.is_admin
    assert home.problems == (
        "Lucas Bernard: user_not_found (since 23 Nov 09:05 UTC)",
        "acme digest → console:#gone: channel_not_found",
    )
    assert home.digest is not None
    assert home.digest.team == "acme"
